import type { z } from 'zod';
import type { ContextConfig, Logger } from '@ai-agent/common';
import type { CallControl, CallInfo, CallOutcome } from '../call/index.ts';
import type { LlmProvider } from '../providers/types.ts';

/** What a tool may do to the call it runs in. */
export interface ToolContext {
  call: CallInfo;
  control: CallControl;
  context: ContextConfig;
  /** The call's LLM, for a tool that has text written (a transfer briefing); absent where an agent speaks for itself. */
  llm?: LlmProvider;
  log?: Logger;
  /** Text the model already said in the reply that called the tool. */
  replyText: string;
  /** Speaks `text` as the agent and resolves once it has played (or was cut off). */
  say(text: string): Promise<void>;
  /**
   * Resolves once the caller has heard everything the agent said so far, to the end: audio held by a
   * tentative barge-in is played too, and nothing the caller says from now on cuts it.
   */
  playedOut(): Promise<void>;
  /** The conversation ends here (the tool hangs up or hands the call over): caller input is no longer answered. */
  end(outcome: CallOutcome): void;
  /** Aborted when the reply is abandoned: the caller talked over it, or the call ended. */
  signal: AbortSignal;
  /**
   * Aborted only when the call ends. A tool whose answer is worth keeping past a barge-in (it is then given to
   * the model with the caller's next turn) listens to this one instead of `signal`.
   */
  callSignal?: AbortSignal;
  /**
   * A slow tool asks the conversation to fill the silence (`text` as part of the current reply, cut by a
   * barge-in like the rest of it; at most once per reply). Absent where the agent speaks for itself.
   */
  holdOn?(text: string): void;
}

export interface ToolResult {
  /** What the model reads as the tool's answer. */
  content: string;
  /** The call ended or left the engine: no further model round. */
  ended?: boolean;
}

export interface Tool<Args = unknown> {
  readonly name: string;
  /**
   * The tool ends the call or moves it away: the speech before it must be heard whole, so the conversation
   * stops treating caller speech over it as a barge-in as soon as the model asks for the tool.
   */
  readonly endsCall?: boolean;
  readonly description: string;
  readonly parameters: z.ZodType<Args>;
  /** The JSON Schema offered to the model, when the tool has its own (an MCP server's); else from `parameters`. */
  readonly jsonSchema?: Record<string, unknown>;
  run(args: Args, ctx: ToolContext): Promise<ToolResult>;
}
