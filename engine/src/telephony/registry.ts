// The live calls, as the control API, limits and drain see them. Implemented by the telephony layer.
import type { CallInfo } from '../call/index.ts';

export type CallState =
  | 'answering'
  | 'connecting_media'
  | 'greeting'
  | 'listening'
  | 'thinking'
  | 'speaking'
  | 'transferring'
  | 'ending'
  | 'ended';

export interface ActiveCall {
  info: CallInfo;
  state: CallState;
  startedAt: string;
  answeredAt?: string;
}

export interface CallRegistry {
  list(): ActiveCall[];
  get(id: string): ActiveCall | undefined;
  /** Number of active calls, optionally for one context. */
  count(context?: string): number;
  /** Plays `message` (if given) then hangs up; false when no such call. */
  hangup(id: string, reason: string, message?: string): Promise<boolean>;
}
