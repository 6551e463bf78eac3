// How telephony drives the conversation of one call, without knowing how the conversation works.
import type { Logger } from '@ai-agent/common';
import type { MediaStream } from '../transport/media-stream.ts';
import type { CallEventRecord, CallOutcome, TurnRecord } from '../store/types.ts';
import type { CallControl, CallInfo } from './call-control.ts';

export type { ConversationState } from '../pipeline/call-state.ts';
import type { ConversationState } from '../pipeline/call-state.ts';

/** Where the conversation reports what happened, for the call record. */
export interface CallRecordSink {
  turn(turn: TurnRecord): void;
  event(event: CallEventRecord): void;
}

export interface ConversationPort {
  readonly state: ConversationState;
  start(): Promise<void> | void;
  /** A DTMF digit the caller pressed, as Asterisk reported it on the caller's channel. */
  dtmf(digit: string): void;
  /** Says `text` (if any), then hangs up through CallControl with `outcome`. Drain and operator hangups. */
  finish(outcome: CallOutcome, text?: string): Promise<void>;
  /** Stops everything and releases every resource. Idempotent. */
  close(outcome?: CallOutcome): void;
  /** The conversation is over (it has already asked CallControl to act, or the caller left). */
  once(event: 'ended', listener: (outcome: CallOutcome) => void): unknown;
}

export interface ConversationRequest {
  info: CallInfo;
  media: MediaStream;
  control: CallControl;
  record: CallRecordSink;
  log: Logger;
  /** DTMF arrives on the media stream (dialplan AudioSocket) rather than from ARI events. */
  dtmfFromMedia: boolean;
}

export type ConversationFactory = (request: ConversationRequest) => ConversationPort;
