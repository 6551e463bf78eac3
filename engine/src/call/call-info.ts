import type { TransportKind } from './media-stream.ts';

/** The facts about a call the pipeline needs; fixed for the call's lifetime. */
export interface CallInfo {
  /** Engine call id (also the record id). */
  id: string;
  /** Asterisk channel id of the caller (absent for dialplan AudioSocket calls). */
  channelId?: string;
  context: string;
  callerNumber?: string;
  callerName?: string;
  transport: TransportKind;
  codec: string;
}
