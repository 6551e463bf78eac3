import { FRAME_SAMPLES, MIX_RATE } from './formats.ts';
import { voicedFrames } from './level.ts';
import { AudioSourceError, concat, synthesise, type CallerVoice } from './sources.ts';

/**
 * Caller answers said in parts with natural pauses inside them (digits one at a time, "yes … please",
 * "um … what are your opening hours"), for checking that an engine takes each answer as one turn.
 * `slot` is where a dialogue expects the answer: `request` after "how can I help?", `digits` when it asks
 * for a number one digit at a time, `yesno` when it asks to confirm.
 */
export interface MultiPartAnswer {
  id: string;
  slot: 'request' | 'digits' | 'yesno';
  parts: readonly string[];
  /** Silence between consecutive parts, ms: one entry fewer than `parts`. */
  pausesMs: readonly number[];
  /** The digits a digit answer carries. */
  digits?: string;
}

/** Pauses of 250–600 ms: longer than a gap between words, shorter than a caller who has finished. */
export const MULTI_PART_ANSWERS: readonly MultiPartAnswer[] = [
  { id: 'um-opening-hours', slot: 'request', parts: ['um', 'what are your opening hours'], pausesMs: [500] },
  { id: 'forgot-password', slot: 'request', parts: ['I forgot my password', 'can you help me reset it'], pausesMs: [450] },
  { id: 'reset-my-password', slot: 'request', parts: ['please', 'reset my password'], pausesMs: [350] },
  { id: 'talk-to-a-person', slot: 'request', parts: ['I would like to talk to a person', 'please'], pausesMs: [400] },
  { id: 'digits-1234', slot: 'digits', parts: ['one', 'two', 'three', 'four'], pausesMs: [300, 450, 350], digits: '1234' },
  { id: 'digits-5807', slot: 'digits', parts: ['five', 'eight', 'zero', 'seven'], pausesMs: [550, 250, 600], digits: '5807' },
  {
    id: 'account-number-1234', slot: 'digits', parts: ['my account number is', 'one', 'two', 'three', 'four'],
    pausesMs: [600, 300, 400, 300], digits: '1234',
  },
  {
    id: 'account-number-9162', slot: 'digits', parts: ['my account number is', 'nine', 'one', 'six', 'two'],
    pausesMs: [500, 450, 250, 500], digits: '9162',
  },
  { id: 'yes-please', slot: 'yesno', parts: ['yes', 'please'], pausesMs: [350] },
  { id: 'yes-thats-right', slot: 'yesno', parts: ['yes', "that's right"], pausesMs: [450] },
  { id: 'no-thank-you', slot: 'yesno', parts: ['no', 'thank you'], pausesMs: [300] },
];

export function multiPartAnswer(id: string): MultiPartAnswer {
  const answer = MULTI_PART_ANSWERS.find((a) => a.id === id);
  if (!answer) throw new AudioSourceError(`no multi-part answer ${id}`);
  return answer;
}

/**
 * The answer at 8 kHz: each part synthesised on its own in `voice` (default flite awb, a voice the engine
 * tests do not speak in), cut to its audible frames (audio/level.ts) and joined with digital silence, so
 * every pause between audible speech is exactly as stated. It starts and ends with speech.
 */
export async function multiPartAudio(answer: MultiPartAnswer, voice: CallerVoice = 'flite/awb'): Promise<Int16Array> {
  const pieces: Int16Array[] = [];
  for (const [i, part] of answer.parts.entries()) {
    const speech = await synthesise(part, voice);
    const voiced = voicedFrames(speech);
    if (!voiced) throw new AudioSourceError(`${voice} said nothing audible for "${part}"`);
    if (i > 0) pieces.push(new Int16Array(Math.round((answer.pausesMs[i - 1] * MIX_RATE) / 1000)));
    pieces.push(speech.subarray(voiced.first * FRAME_SAMPLES, (voiced.last + 1) * FRAME_SAMPLES));
  }
  return concat(pieces);
}
