import type { CallInfo, TurnRecord } from '../call/index.ts';

/** Caller utterances the briefing repeats: the most recent say what the call is about now. */
const CALLER_UTTERANCES = 3;
/** Longest briefing in characters: the person listens on the phone while the caller waits. */
const MAX_CHARS = 400;

/**
 * What a warm transfer's target hears before the caller is put through: who is calling and, in the caller's
 * own words, what they asked. Built from the recorded turns, so it works with any dialogue, offline included.
 */
export function briefingText(call: Pick<CallInfo, 'callerNumber' | 'callerName'>, turns: readonly TurnRecord[]): string {
  const who = [call.callerName, call.callerNumber && `calling from ${spokenDigits(call.callerNumber)}`].filter(Boolean).join(', ');
  const asked = turns
    .filter((t) => t.speaker === 'caller' && t.text.trim() !== '')
    .slice(-CALLER_UTTERANCES)
    .map((t) => sentence(t.text))
    .join(' ');
  const intro = `You have a transferred call. The caller${who ? `, ${who},` : ''}`;
  const body = asked ? `${intro} said: ${asked}` : `${intro} did not say what it is about.`;
  const text = `${body} I am connecting you now.`;
  return text.length <= MAX_CHARS ? text : `${body.slice(0, MAX_CHARS - 30).replace(/\s+\S*$/, '')}. I am connecting you now.`;
}

/** A phone number read digit by digit ("4 1 5 …"), as a person would read it out. */
function spokenDigits(number: string): string {
  return number.replace(/[^0-9+*#]/g, '').split('').join(' ');
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
