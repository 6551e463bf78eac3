// How telephony drives the conversation of one call, without knowing how the conversation works.
import type { Logger } from '@ai-agent/common';
import type { MediaStream } from '../transport/media-stream.ts';
import type { CallEventRecord, CallOutcome, TurnRecord } from '../store/types.ts';
import type { CallControl, CallInfo } from './call-control.ts';

export type ConversationState = 'greeting' | 'listening' | 'thinking' | 'speaking' | 'ending';

/** Where the conversation reports what happened, for the call record. */
export interface CallRecordSink {
  turn(turn: TurnRecord): void;
  event(event: CallEventRecord): void;
}

export interface ConversationPort {
  readonly state: ConversationState;
  start(): void;
  /** A DTMF digit the caller pressed, as Asterisk reported it on the caller's channel. */
  dtmf(digit: string): void;
  /** Speaks `text`, then resolves once it has played (busy, drain and operator-hangup messages). */
  say(text: string): Promise<void>;
  /** Stops everything and releases every resource. Idempotent. */
  close(): void;
  /** The conversation decided the call is over (it has already asked CallControl to act). */
  onEnd(listener: (outcome: CallOutcome) => void): void;
}

export interface ConversationRequest {
  info: CallInfo;
  media: MediaStream;
  control: CallControl;
  record: CallRecordSink;
  log: Logger;
}

export type ConversationFactory = (request: ConversationRequest) => ConversationPort;
