// The conversation's explicit state machine: which state may follow which.
import type { ConversationState } from '../call/index.ts';

const NEXT: Record<ConversationState, readonly ConversationState[]> = {
  starting: ['greeting', 'listening', 'ending', 'ended'],
  greeting: ['listening', 'thinking', 'speaking', 'ending', 'ended'],
  listening: ['thinking', 'speaking', 'ending', 'ended'],
  thinking: ['speaking', 'listening', 'thinking', 'transferring', 'ending', 'ended'],
  speaking: ['listening', 'thinking', 'speaking', 'transferring', 'ending', 'ended'],
  transferring: ['ending', 'ended'],
  ending: ['ended'],
  ended: [],
};

export class CallStateMachine {
  private current: ConversationState = 'starting';
  /** Transitions refused because the table does not allow them (a logic error, counted not thrown). */
  refused = 0;

  constructor(private readonly onChange: (to: ConversationState, from: ConversationState) => void) {}

  get state(): ConversationState {
    return this.current;
  }

  is(...states: ConversationState[]): boolean {
    return states.includes(this.current);
  }

  to(next: ConversationState): boolean {
    if (next === this.current && next !== 'thinking' && next !== 'speaking') return true;
    if (!NEXT[this.current].includes(next)) {
      this.refused++;
      return false;
    }
    const from = this.current;
    this.current = next;
    this.onChange(next, from);
    return true;
  }
}
