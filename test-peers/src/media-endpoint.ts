/**
 * What every channel's media looks like to the peer's mixer: once per 20 ms tick the mixer pulls the
 * 160-sample 8 kHz frame the channel contributes (null when it sends nothing, as a silent Asterisk channel
 * sends nothing) and pushes what the channel hears (null when nothing is playing to it).
 */
export interface MediaEndpoint {
  pull(now: number): Int16Array | null;
  push(frame: Int16Array | null, now: number): void;
  /** A DTMF digit the bridge passes to this channel (where its driver can carry one). */
  sendDtmf?(digit: string): void;
  close(): void;
}

/** Observes audio arriving from the engine on a leg, at arrival time, before any queueing. */
export type InboundObserver = (audible: boolean, at: number) => void;
