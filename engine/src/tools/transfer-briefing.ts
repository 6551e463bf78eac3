import type { CallInfo, TurnRecord } from '../call/index.ts';
import type { ChatMessage, LlmProvider } from '../providers/types.ts';

/** Caller utterances the template repeats: the most recent say what the call is about now. */
const CALLER_UTTERANCES = 3;
/** Turns of the conversation the LLM reads: the end of a long call says what it is about now. */
const TRANSCRIPT_TURNS = 20;
/** Longest briefing in characters: the person listens on the phone while the caller waits. */
const MAX_CHARS = 400;

/** Said the moment the person answers, while the summary is being written: never dead air for them. */
export const BRIEFING_OPENER = 'You have a transferred call.';
const CLOSING = 'I am connecting you now.';

const INSTRUCTIONS =
  'You brief a colleague who is about to take over a phone call. In one or two short spoken sentences, tell them ' +
  'who is calling (name and number when known, the number exactly as given) and what the caller wants. Plain text ' +
  'to be read aloud: no greeting, no lists, no markup.';

type Caller = Pick<CallInfo, 'callerNumber' | 'callerName'>;

/**
 * What follows the opener when no LLM writes it: who is calling and, in the caller's own words, what they
 * asked. Built from the recorded turns, so it works with any dialogue, offline included.
 */
export function templateBriefing(call: Caller, turns: readonly TurnRecord[]): string {
  const who = callerWords(call);
  const asked = turns
    .filter((t) => t.speaker === 'caller' && t.text.trim() !== '')
    .slice(-CALLER_UTTERANCES)
    .map((t) => sentence(t.text))
    .join(' ');
  const intro = `The caller${who ? `, ${who},` : ''}`;
  const body = asked ? `${intro} said: ${asked}` : `${intro} did not say what it is about.`;
  const text = `${body} ${CLOSING}`;
  return text.length <= MAX_CHARS ? text : `${body.slice(0, MAX_CHARS - 30).replace(/\s+\S*$/, '')}. ${CLOSING}`;
}

export type WrittenBriefing = { text: string } | { failure: string };

/**
 * The call summed up by `llm` for the person taking it over: one request with the turns so far, bounded by
 * `timeoutMs` (and the call's end, `signal`). A failure, a stall, an empty or overlong answer, or a tool call
 * instead of text is a `failure` saying which: the caller then hears the template instead.
 */
export async function writeBriefing(
  llm: LlmProvider,
  call: Caller,
  turns: readonly TurnRecord[],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<WrittenBriefing> {
  const limit = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([limit, opts.signal]) : limit;
  const transcript = turns
    .filter((t) => t.text.trim() !== '')
    .slice(-TRANSCRIPT_TURNS)
    .map((t) => `${t.speaker === 'caller' ? 'Caller' : 'Agent'}: ${t.text.trim()}`)
    .join('\n');
  const messages: ChatMessage[] = [
    { role: 'system', content: INSTRUCTIONS },
    { role: 'user', content: `The caller: ${callerWords(call) || 'name and number unknown'}.\nThe conversation so far:\n${transcript || '(nothing said)'}` },
  ];
  let text = '';
  try {
    for await (const event of llm.chat(messages, [], signal)) {
      if (event.type === 'tool_call') return { failure: 'the LLM asked for a tool instead of writing' };
      if (event.type === 'text') text += event.text;
      if (text.length > MAX_CHARS * 2) break;
    }
  } catch (err) {
    if (!limit.aborted) return { failure: `the LLM failed: ${(err as Error).message}` };
  }
  // A provider may end its stream quietly when aborted: what came before the limit is not a whole answer.
  if (limit.aborted) return { failure: `no answer within ${opts.timeoutMs} ms` };
  const summary = fitted(text.replace(/[*#_`]/g, '').replace(/\s+/g, ' ').trim());
  return summary ? { text: `${summary} ${CLOSING}` } : { failure: text.trim() ? 'the LLM wrote too long an answer' : 'the LLM wrote nothing' };
}

/** `text` if it fits the briefing, else its whole sentences that do; empty when not even one does. */
function fitted(text: string): string {
  const room = MAX_CHARS - CLOSING.length - 1;
  if (text.length <= room) return text;
  const cut = text.slice(0, room);
  const end = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('? '), cut.lastIndexOf('! '));
  return end > 0 ? cut.slice(0, end + 1) : '';
}

/** "Alex, calling from 2 0 0 1": the number digit by digit, as a person would read it out. */
function callerWords(call: Caller): string {
  const number = call.callerNumber?.replace(/[^0-9+*#]/g, '').split('').join(' ');
  return [call.callerName, number && `calling from ${number}`].filter(Boolean).join(', ');
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
