// What the pipeline and tools may ask of the telephony layer for one call. Implemented by the ARI call session
// (and by the AudioSocket-only session, where some actions are unavailable).
import type { CallOutcome, TurnRecord } from './call-record.ts';

export interface TransferTarget {
  context: string;
  extension: string;
  priority: number;
}

/** Where a warm transfer dials, and how (from the context's allowlisted target). */
export interface WarmTransferTarget {
  /** Name of the target in the context's allowlist (logged and recorded). */
  name: string;
  /** Asterisk endpoint, Tech/resource. */
  endpoint: string;
  ringTimeoutSeconds: number;
  mohClass: string;
  /** Caller ID shown to the target (default: the caller's own). */
  callerId?: string;
}

/** How a warm transfer ended: `connected` means the caller is bridged with the target and the agent left. */
export type WarmTransferResult =
  | { status: 'connected' }
  | { status: 'no_answer' | 'busy' | 'failed' | 'caller_gone'; detail: string };

/** Which actions this call's telephony can carry out (a dialplan AudioSocket call has no ARI). */
export interface CallActions {
  transfer: boolean;
  sendDtmf: boolean;
}

export interface CallControl {
  readonly actions: CallActions;
  /** Hangs up the caller's channel (after whatever the pipeline wanted played has played). */
  hangup(outcome?: CallOutcome): Promise<void>;
  /** Blind transfer: leaves Stasis into the dialplan at the target; the caller hears ringback, not silence. */
  transfer(target: TransferTarget): Promise<void>;
  /**
   * Warm transfer (absent where the telephony cannot dial out): the caller hears music on hold while the
   * target rings; once it answers, `brief` runs with the target hearing the agent (the agent does not hear the
   * target), then caller and target are bridged and the call leaves the engine as `transferred`. On any other
   * result the caller is back with the agent. `brief` gets the call's turns so far.
   */
  warmTransfer?(target: WarmTransferTarget, brief: (turns: readonly TurnRecord[]) => Promise<void>): Promise<WarmTransferResult>;
  /** Sends DTMF digits towards the caller's channel. */
  sendDtmf(digits: string): Promise<void>;
  /** Plays an Asterisk media URI (`sound:…`) to the caller and resolves once it has played. */
  playSound(media: string): Promise<void>;
}
