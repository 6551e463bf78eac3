import type { CallState } from './registry.ts';

/** Legal moves of a call's lifecycle; the conversation's own states live inside 'greeting'…'speaking'. */
const TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  answering: ['connecting_media', 'ending'],
  connecting_media: ['greeting', 'ending'],
  greeting: ['listening', 'thinking', 'speaking', 'transferring', 'ending'],
  listening: ['thinking', 'speaking', 'greeting', 'transferring', 'ending'],
  thinking: ['listening', 'speaking', 'transferring', 'ending'],
  speaking: ['listening', 'thinking', 'transferring', 'ending'],
  transferring: ['ending'],
  ending: ['ended'],
  ended: [],
};

/** A tiny explicit state machine: every change is checked against the table and reported. */
export class SessionState {
  private current: CallState = 'answering';

  constructor(private readonly onChange: (from: CallState, to: CallState) => void) {}

  get value(): CallState {
    return this.current;
  }

  /** Moves to `to` if legal; returns false (and stays) otherwise. */
  to(to: CallState): boolean {
    if (to === this.current) return true;
    if (!TRANSITIONS[this.current].includes(to)) return false;
    const from = this.current;
    this.current = to;
    this.onChange(from, to);
    return true;
  }

  get isOver(): boolean {
    return this.current === 'ending' || this.current === 'ended';
  }
}
