// What the pipeline and tools may ask of the telephony layer for one call. Implemented by the ARI call session
// (and by the AudioSocket-only session, where some actions are unavailable).
import type { CallOutcome } from './call-record.ts';

export interface TransferTarget {
  context: string;
  extension: string;
  priority: number;
}

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
  /** Sends DTMF digits towards the caller's channel. */
  sendDtmf(digits: string): Promise<void>;
  /** Plays an Asterisk media URI (`sound:…`) to the caller and resolves once it has played. */
  playSound(media: string): Promise<void>;
}
