// Runs the model's (or the agent's) tool calls for both kinds of conversation: builds what a tool may do to
// the call, runs one call through the Toolbox and records the `tool_call` event.
import type { ContextConfig, Logger } from '@ai-agent/common';
import type { LlmProvider, ToolCall } from '../providers/types.ts';
import type { CallControl, CallInfo, CallOutcome } from '../call/index.ts';
import { Toolbox } from '../tools/toolbox.ts';
import type { Tool, ToolContext, ToolResult } from '../tools/types.ts';
import type { CallStateMachine } from './call-state.ts';
import type { ConversationSink } from './types.ts';

/** The call the tools run in (both conversations' options have these). */
export interface ToolHost {
  call: CallInfo;
  control: CallControl;
  context: ContextConfig;
  sink: ConversationSink;
  /** Tools built for this call besides the built-in ones the context names (its HTTP tools). */
  tools?: readonly Tool<any>[];
  /** A pipeline call's providers: its LLM writes text for tools (see ToolContext.llm). */
  providers?: { llm: LlmProvider };
  log?: Logger;
}

/** What a tool's requests do in the conversation running it. */
export interface ToolHooks {
  /** Speaks `text` as the agent once what it said so far was heard (see ToolContext.say). */
  say(text: string): Promise<void>;
  /** See ToolContext.playedOut. */
  playedOut(): Promise<void>;
  /** A tool ended the call or moved it away with `outcome`. */
  ending(outcome: CallOutcome): void;
  /** See ToolContext.holdOn (absent where the agent speaks for itself). */
  holdOn?(text: string): void;
  /** See ToolContext.callSignal. */
  callSignal?: AbortSignal;
}

export class ToolRunner {
  readonly toolbox: Toolbox;

  constructor(
    private readonly host: ToolHost,
    private readonly machine: CallStateMachine,
    private readonly stats: { toolCalls: number },
    private readonly hooks: ToolHooks,
  ) {
    this.toolbox = new Toolbox(host.context, host.control.actions, host.tools);
  }

  /** What the tools of one reply may do to the call; `replyText` is what the reply said before them. */
  context(replyText: string, signal: AbortSignal): ToolContext {
    const { call, control, context, providers, log } = this.host;
    return {
      call,
      control,
      context,
      ...(providers ? { llm: providers.llm } : {}),
      ...(log ? { log: log.child({ callId: call.id }) } : {}),
      replyText,
      signal,
      callSignal: this.hooks.callSignal,
      ...(this.hooks.holdOn ? { holdOn: (text: string) => this.hooks.holdOn?.(text) } : {}),
      say: (text) => this.hooks.say(text),
      playedOut: () => this.hooks.playedOut(),
      end: (outcome) => {
        this.hooks.ending(outcome);
        this.machine.to(outcome === 'transferred' ? 'transferring' : 'ending');
      },
    };
  }

  /** Runs one tool call and records it. */
  async run(call: ToolCall, context: ToolContext): Promise<ToolResult> {
    this.stats.toolCalls++;
    const result = await this.toolbox.run(call, context);
    this.host.sink.event({ kind: 'tool_call', at: new Date().toISOString(), name: call.name, arguments: call.arguments, result: result.content });
    return result;
  }
}
