import { z } from 'zod';
import type { Tool } from './types.ts';

const parameters = z.object({
  digits: z.string().regex(/^[0-9A-D*#]{1,32}$/, 'digits 0-9, A-D, * and # only (at most 32)').describe('DTMF digits to send'),
}).strict();

/** Sends DTMF tones on the call (e.g. to drive an IVR the call is connected to). */
export const sendDtmfTool: Tool<z.infer<typeof parameters>> = {
  name: 'send_dtmf',
  description: 'Send DTMF (touch-tone) digits on the call.',
  parameters,
  async run(args, ctx) {
    await ctx.playedOut();
    await ctx.control.sendDtmf(args.digits);
    return { content: `Sent DTMF ${args.digits}.` };
  },
};
