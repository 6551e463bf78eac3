// The contract every recognition engine meets. Engines take 16 kHz mono PCM; the connection converts the
// caller's encoding and rate before calling write().
import type { Grammar } from '../protocol.ts';

export const STT_RATE = 16000;

export interface SttEvents {
  speechStart(): void;
  partial(text: string): void;
  final(text: string, grammar: boolean): void;
  /** After end(): every final has been delivered and the engine's resources are released. */
  closed(): void;
  error(err: Error): void;
}

export interface SttOptions {
  /** The source was telephone-band (8 kHz): engines that need it apply narrowband compensation. */
  narrowband: boolean;
  partials: boolean;
  grammar?: Grammar;
}

export interface SttSession {
  /** `pcm` is only valid during the call (the caller reuses its buffer). */
  write(pcm: Int16Array): void;
  /** Applies from the next utterance on (an utterance in progress finishes in the old mode). */
  setGrammar(grammar: Grammar): void;
  /** Flushes the utterance in progress as a final, then closes. */
  end(): void;
  /** Stops at once; no further events. */
  abort(): void;
}

export interface SttEngine {
  readonly name: string;
  open(options: SttOptions, events: SttEvents): SttSession;
  close(): void;
}
