import { z } from 'zod';
import type { ContextConfig } from '@ai-agent/common';
import type { Tool } from './types.ts';

/** A blind transfer, only to the targets the context allowlists (the model picks one by name). */
export function transferTool(context: ContextConfig): Tool<{ target: string }> {
  const names = Object.keys(context.transfer_targets);
  const described = names.map((n) => {
    const d = context.transfer_targets[n].description;
    return d ? `${n} (${d})` : n;
  });
  const parameters = z.object({ target: z.enum(names as [string, ...string[]]).describe('Where to transfer the caller') }).strict();
  return {
    name: 'transfer',
    endsCall: true,
    description: `Transfer the caller to a person or department. Tell the caller first. Targets: ${described.join(', ')}.`,
    parameters,
    async run(args, ctx) {
      const target = ctx.context.transfer_targets[args.target];
      // Enum validation already ran; this guards a context reloaded with fewer targets.
      if (!target) return { content: `error: unknown transfer target "${args.target}"` };
      ctx.end('transferred');
      await ctx.playedOut();
      await ctx.control.transfer({ context: target.context, extension: target.extension, priority: target.priority });
      return { content: `The caller was transferred to ${args.target}.`, ended: true };
    },
  };
}
