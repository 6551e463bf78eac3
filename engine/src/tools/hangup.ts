import { z } from 'zod';
import type { Tool } from './types.ts';

const parameters = z.object({
  reason: z.string().max(200).optional().describe('Why the call ends, for the call record'),
}).strict();

/**
 * Ends the call politely: the farewell is spoken (unless the model's reply already said goodbye), the tool
 * waits until the caller has heard it, then hangs up.
 */
export const hangupTool: Tool<z.infer<typeof parameters>> = {
  name: 'hangup',
  endsCall: true,
  description: 'End the call once the conversation is finished. Say goodbye in your reply before calling it.',
  parameters,
  async run(args, ctx) {
    ctx.end('completed');
    if (ctx.replyText.trim()) await ctx.playedOut();
    else await ctx.say(ctx.context.farewell);
    await ctx.control.hangup('completed');
    return { content: `The call has ended${args.reason ? ` (${args.reason})` : ''}.`, ended: true };
  },
};
