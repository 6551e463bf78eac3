import { z } from 'zod';
import type { ContextConfig, WarmTransferTargetConfig } from '@ai-agent/common';
import type { TurnRecord } from '../call/index.ts';
import { BRIEFING_OPENER, templateBriefing, writeBriefing } from './transfer-briefing.ts';
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
  let briefedBy = '';
  const result = await control.warmTransfer(
    { name, endpoint: target.endpoint, ringTimeoutSeconds: target.ring_timeout_seconds, mohClass: target.moh_class, callerId: target.caller_id },
    async (turns) => {
      briefedBy = await brief(target, turns, ctx);
    },
  );
  if (result.status === 'connected') return { content: `The caller was connected to ${name} (briefed by ${briefedBy}).`, ended: true };
  if (result.status === 'caller_gone') return { content: 'The caller hung up during the transfer.', ended: true };
  // Said here rather than left to the model, so the caller is told even by a dialogue that cannot improvise.
  await ctx.say(target.unreachable_reply);
  return { content: `${name} could not be reached: ${result.detail}. The caller has been told and is back with you.` };
}

/**
 * Briefs the person who answered: the opener at once, then the LLM's summary of the call, or the template when
 * the target wants it, the call has no LLM or a scripted one (the local rule dialogue), or the LLM fails or is
 * late. Returns which was said.
 */
async function brief(target: WarmTransferTargetConfig, turns: readonly TurnRecord[], ctx: ToolContext): Promise<string> {
  const written = target.briefing === 'llm' && ctx.llm && ctx.llm.capabilities?.freeText !== false ? writeBriefing(ctx.llm, ctx.call, turns, { timeoutMs: target.briefing_timeout_ms, signal: ctx.callSignal }) : null;
  // The person hears the opener while the LLM writes.
  await ctx.say(BRIEFING_OPENER);
  const answer = await written;
  if (answer && 'text' in answer) {
    await ctx.say(answer.text);
    return 'the LLM';
  }
  if (answer) ctx.log?.warn({ reason: answer.failure, timeoutMs: target.briefing_timeout_ms }, 'transfer briefing: the LLM summary failed; the template is said');
  await ctx.say(templateBriefing(ctx.call, turns));
  return answer ? `the template (${answer.failure})` : 'the template';
}
