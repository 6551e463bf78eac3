import { z } from 'zod';
import type { ContextConfig, WarmTransferTargetConfig } from '@ai-agent/common';
import { briefingText } from './transfer-briefing.ts';
import type { Tool, ToolContext, ToolResult } from './types.ts';

/**
 * A transfer, only to the targets the context allowlists (the model picks one by name): blind (the caller
 * continues in the dialplan) or warm (the target is dialled, briefed, then bridged with the caller).
 */
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
      if (target.mode === 'warm') return warmTransfer(args.target, target, ctx);
      ctx.end('transferred');
      await ctx.playedOut();
      await ctx.control.transfer({ context: target.context, extension: target.extension, priority: target.priority });
      return { content: `The caller was transferred to ${args.target}.`, ended: true };
    },
  };
}

async function warmTransfer(name: string, target: WarmTransferTargetConfig, ctx: ToolContext): Promise<ToolResult> {
  const control = ctx.control;
  if (!control.warmTransfer) return { content: `error: ${name} cannot be reached from this call` };
  // The caller hears the announcement whole before the music starts.
  await ctx.playedOut();
  const result = await control.warmTransfer(
    { name, endpoint: target.endpoint, ringTimeoutSeconds: target.ring_timeout_seconds, mohClass: target.moh_class, callerId: target.caller_id },
    (turns) => ctx.say(briefingText(ctx.call, turns)),
  );
  if (result.status === 'connected') return { content: `The caller was connected to ${name}.`, ended: true };
  if (result.status === 'caller_gone') return { content: 'The caller hung up during the transfer.', ended: true };
  // Said here rather than left to the model, so the caller is told even by a dialogue that cannot improvise.
  await ctx.say(target.unreachable_reply);
  return { content: `${name} could not be reached: ${result.detail}. The caller has been told and is back with you.` };
}
