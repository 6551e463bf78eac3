import type { ContextConfig, Logger } from '@ai-agent/common';
import type { PipelineProviders } from '../providers/types.ts';
import type {
  CallControl,
  CallEventRecord,
  CallInfo,
  CallOutcome,
  ConversationState,
  MediaStream,
  TurnRecord,
} from '../call/index.ts';
import type { Tool } from '../tools/types.ts';
import type { VariablesLookup } from './context-variables.ts';
import type { GreetingCache } from './greeting-cache.ts';
import type { TurnMetric } from './latency-observer.ts';
import type { VadService } from './vad/vad-service.ts';

/** Where a conversation reports what happened (the call store, via the telephony layer). */
export interface ConversationSink {
  turn(record: TurnRecord): void;
  event(record: CallEventRecord): void;
}

export interface ConversationHooks {
  /** Plays a stock prompt through telephony (Asterisk `sound:`); used when TTS itself has failed. */
  playStockPrompt?(name: 'apology'): Promise<void>;
}

export interface ConversationOptions {
  call: CallInfo;
  media: MediaStream;
  control: CallControl;
  context: ContextConfig;
  providers: PipelineProviders;
  /** The process-wide VAD. */
  vad: VadService;
  sink: ConversationSink;
  log: Logger;
  greetings?: GreetingCache;
  hooks?: ConversationHooks;
  /** Tools built for this call besides the built-in ones (the context's HTTP tools). */
  tools?: readonly Tool<any>[];
  /** See CallHost.variables (the pre-call lookup). */
  variables?: VariablesLookup;
  /**
   * Take DTMF from the media stream (default). ARI calls set false and feed `dtmf()` from ARI's
   * ChannelDtmfReceived instead, so a digit that arrives both ways is not counted twice.
   */
  dtmfFromMedia?: boolean;
}

export interface ConversationStats {
  turns: number;
  bargeIns: number;
  /** Speech over the agent that did not interrupt it (noise, backchannels). */
  falseBargeIns: number;
  /** Agent pauses on a likely speech onset that speech did not confirm (the agent went on). */
  pausesResumed: number;
  /** STT finals with words while the VAD heard no caller speech (echo of the agent, noise): ignored. */
  unvoicedFinals: number;
  toolCalls: number;
  noInputPrompts: number;
  /** Caller turns lost to a busy recogniser, each answered with the context's `busy_prompt`. */
  busyPrompts: number;
}

export interface ConversationEvents {
  state: [to: ConversationState, from: ConversationState];
  metric: [metric: TurnMetric];
  ended: [outcome: CallOutcome];
}
