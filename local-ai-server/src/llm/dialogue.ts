// A deterministic dialogue engine that stands in for an LLM when no model file is configured. It is
// stateless between requests: each chat request replays the caller's turns from the history, so the engine
// side can treat it exactly like a remote LLM (send history, read streamed reply and tool calls).
import type { DialogueConfig, IntentConfig } from '../config.ts';
import type { ChatMessage, Expectation, Grammar, ToolSpec } from '../protocol.ts';
import { IntentMatcher } from './intents.ts';
import { extractDigits, extractYesNo, speakDigits } from './slots.ts';
import type { Responder, ResponderEvent } from './types.ts';

interface Turn {
  reply: string;
  /** The intent that answered, when one did. */
  intent?: string;
  action?: IntentConfig['action'];
  expect?: Expectation;
}

interface State {
  pending?: { intent: IntentConfig; slot: number; values: Record<string, string> };
  fallbacks: number;
  last: string;
}

const GRAMMAR_FOR_SLOT: Record<string, Grammar> = {
  digits: { builtin: 'digits' },
  yesno: { builtin: 'yesno' },
  text: null,
};

/** Lets other connections' messages run between two caller turns of a long history replay. */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Work a replay does before it lets others run: short replies finish at once, long replays take turns. */
const SLICE_MS = 5;

/**
 * Matching cost grows with the words of an utterance: a caller's turn is a spoken sentence or two, so only
 * its first `maxWords` words are matched (a 8 000-character message is not a turn anyone speaks).
 */
function spokenPart(text: string, maxWords: number): string {
  const words = text.split(/\s+/, maxWords + 1);
  return words.length > maxWords ? words.slice(0, maxWords).join(' ') : text;
}

function fill(template: string, values: Record<string, string>, last: string): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => (key === 'last' ? last : values[key] ?? ''));
}

export class DialogueResponder implements Responder {
  readonly name = 'dialogue';
  private readonly matcher: IntentMatcher;
  private readonly byName: Map<string, IntentConfig>;

  constructor(private readonly cfg: DialogueConfig) {
    this.matcher = new IntentMatcher(cfg.intents);
    this.byName = new Map(cfg.intents.map((i) => [i.name, i]));
    if (cfg.escalate && !this.byName.has(cfg.escalate)) {
      throw new Error(`dialogue.escalate names an unknown intent "${cfg.escalate}"`);
    }
  }

  /** Runs one intent: ask for its first slot, or answer and act. */
  private start(intent: IntentConfig, state: State): Turn {
    if (intent.slots.length > 0) {
      state.pending = { intent, slot: 0, values: {} };
      return this.askSlot(state);
    }
    return this.complete(intent, {}, state);
  }

  private askSlot(state: State): Turn {
    const { intent, slot, values } = state.pending!;
    const s = intent.slots[slot];
    return { reply: fill(s.prompt, values, state.last), expect: { grammar: GRAMMAR_FOR_SLOT[s.type] } };
  }

  private complete(intent: IntentConfig, values: Record<string, string>, state: State): Turn {
    state.pending = undefined;
    if (intent.name === this.cfg.repeat_intent) return { reply: state.last || this.cfg.greeting };
    const expect = intent.expect ? { grammar: GRAMMAR_FOR_SLOT[intent.expect] ?? { builtin: intent.expect } } : undefined;
    return { reply: fill(intent.reply, values, state.last), intent: intent.name, action: intent.action, expect };
  }

  /** Tries to read the pending slot from the utterance; undefined when it holds no usable value. */
  private fillSlot(utterance: string, state: State): Turn | undefined {
    const pending = state.pending!;
    const slot = pending.intent.slots[pending.slot];
    let value: string | undefined;
    if (slot.type === 'digits') {
      const digits = extractDigits(utterance);
      if (digits.length >= (slot.min_length ?? 1)) value = digits;
      if (value) pending.values[`${slot.name}`] = speakDigits(value);
    } else if (slot.type === 'yesno') {
      value = extractYesNo(utterance);
      if (value === 'no' && slot.on_no) {
        state.pending = undefined;
        return { reply: fill(slot.on_no, pending.values, state.last) };
      }
      if (value) pending.values[slot.name] = value;
    } else if (utterance.trim()) {
      value = utterance.trim();
      pending.values[slot.name] = value;
    }
    if (value === undefined) return undefined;
    pending.slot += 1;
    if (pending.slot < pending.intent.slots.length) return this.askSlot(state);
    return this.complete(pending.intent, pending.values, state);
  }

  private fallback(state: State): Turn {
    state.fallbacks += 1;
    if (this.cfg.escalate && state.fallbacks >= this.cfg.max_fallbacks) {
      return this.start(this.byName.get(this.cfg.escalate)!, state);
    }
    return { reply: this.cfg.fallback };
  }

  /** One caller turn: a pending slot first, then intent matching, then the fallback. */
  private turn(utterance: string, state: State): Turn {
    let turn: Turn | undefined;
    if (state.pending) {
      // A clear request for something else wins over a slot we could not read.
      turn = this.fillSlot(utterance, state);
      if (!turn) {
        const other = this.matcher.best(utterance, Math.max(this.cfg.match_threshold, 0.75));
        turn = other && other.intent !== state.pending.intent ? this.start(other.intent, state) : undefined;
      }
      if (!turn) {
        state.fallbacks += 1;
        turn = this.cfg.escalate && state.fallbacks >= this.cfg.max_fallbacks
          ? this.start(this.byName.get(this.cfg.escalate)!, state)
          : { ...this.askSlot(state), reply: `Sorry, I didn't get that. ${this.askSlot(state).reply}` };
      } else if (!state.pending) {
        state.fallbacks = 0;
      }
    } else {
      const match = this.matcher.best(utterance, this.cfg.match_threshold);
      if (match) {
        state.fallbacks = 0;
        turn = this.start(match.intent, state);
      } else {
        turn = this.fallback(state);
      }
    }
    state.last = turn.reply;
    return turn;
  }

  /**
   * The reply to the last user message, given the whole conversation so far. Each turn's matching is bounded
   * (spokenPart) and the replay yields between turns, so a long history delays only its own reply.
   */
  async reply(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<Turn> {
    const state: State = { fallbacks: 0, last: this.cfg.greeting };
    let turn: Turn = { reply: this.cfg.greeting };
    let slice = performance.now();
    for (const m of messages) {
      if (m.role !== 'user') continue;
      if (performance.now() - slice > SLICE_MS) {
        await yieldToLoop();
        signal?.throwIfAborted();
        slice = performance.now();
      }
      turn = this.turn(spokenPart(m.content, this.cfg.max_words_per_turn), state);
    }
    return turn;
  }

  async *respond(messages: ChatMessage[], tools: ToolSpec[] | undefined, signal?: AbortSignal): AsyncIterable<ResponderEvent> {
    const last = messages[messages.length - 1];
    if (last?.role === 'tool') {
      // The round after an action: nothing more to say if it worked; if it failed, say so and go on.
      if (/^error\b/i.test(last.content)) yield* this.speak(this.cfg.action_unavailable);
      yield { type: 'done', reason: 'stop' };
      return;
    }
    const turn = await this.reply(messages, signal);
    const action = turn.action;
    // `tools` absent means the client did not say what it offers: assume everything.
    const offered = action !== undefined && (!tools || tools.some((t) => t.name === action.tool));
    if (action && !offered) {
      // Never announce what the call cannot do ("putting you through" on a line that cannot transfer).
      yield* this.speak(this.intentNamed(turn)?.unavailable_reply ?? turn.reply);
      yield { type: 'done', reason: 'stop' };
      return;
    }
    yield* this.speak(turn.reply);
    if (action) {
      yield { type: 'tool_call', name: action.tool, arguments: action.arguments };
      yield { type: 'done', reason: 'tool_call' };
      return;
    }
    yield { type: 'done', reason: 'stop', expect: turn.expect };
  }

  /** Streamed a few words at a time, like a model, so the client's sentence splitter is exercised the same way. */
  private *speak(text: string): Iterable<ResponderEvent> {
    const words = text.split(/(?<=\s)/);
    for (let i = 0; i < words.length; i += 4) yield { type: 'delta', text: words.slice(i, i + 4).join('') };
  }

  private intentNamed(turn: Turn): IntentConfig | undefined {
    return turn.intent ? this.byName.get(turn.intent) : undefined;
  }

  async close(): Promise<void> {}
}
