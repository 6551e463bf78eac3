// How telephony drives the conversation of one call, without knowing how the conversation works.
import type { Logger } from '@ai-agent/common';
import type { MediaStream } from './media-stream.ts';
import type { CallEventRecord, CallOutcome, TurnRecord } from './call-record.ts';
import type { CallControl } from './call-control.ts';
import type { CallInfo } from './call-info.ts';

/** Where a conversation is; the pipeline's state machine says which state may follow which. */
export type ConversationState = 'starting' | 'greeting' | 'listening' | 'thinking' | 'speaking' | 'transferring' | 'ending' | 'ended';

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

/** What is known of a call before its media is set up. */
export interface PrepareRequest {
  info: CallInfo;
  control: CallControl;
  log: Logger;
}

export interface ConversationFactory {
  (request: ConversationRequest): ConversationPort;
  /**
   * The call was admitted and its media is being set up: its conversation may get ready meanwhile (a
   * speech-to-speech agent opens and configures its vendor session, so the greeting pays no handshake). The
   * conversation created for the call takes what was prepared; the returned release frees it for a call that
   * ends before then (and does nothing after).
   */
  prepare?(request: PrepareRequest): () => void;
}
