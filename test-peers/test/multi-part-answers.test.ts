import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MULTI_PART_ANSWERS, isAudible, multiPartAnswer, multiPartAudio } from '../src/index.ts';

const WORD_DIGITS: Record<string, string> = { zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9' };

/** Runs of exact digital silence of at least `minMs`, as [start sample, length in samples]. */
function silences(samples: Int16Array, minMs: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let i = 0; i <= samples.length; i++) {
    if (i < samples.length && samples[i] === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= minMs * 8) runs.push([start, i - start]);
      start = -1;
    }
  }
  return runs;
}

test('the multi-part answers pause for 250–600 ms between their parts, and digit answers say their digits', () => {
  assert.equal(new Set(MULTI_PART_ANSWERS.map((a) => a.id)).size, MULTI_PART_ANSWERS.length);
  for (const a of MULTI_PART_ANSWERS) {
    assert.equal(a.pausesMs.length, a.parts.length - 1, a.id);
    assert.ok(a.pausesMs.every((ms) => ms >= 250 && ms <= 600), a.id);
    const said = a.parts.map((p) => WORD_DIGITS[p] ?? '').join('');
    assert.equal(said, a.slot === 'digits' ? a.digits : '', a.id);
  }
});

test('an answer is its parts cut to their speech and joined by silence exactly as long as each pause', async () => {
  for (const id of ['account-number-9162', 'yes-please']) {
    const answer = multiPartAnswer(id);
    const audio = await multiPartAudio(answer);
    const pauses = silences(audio, 100);
    assert.deepEqual(pauses.map(([, n]) => n / 8), answer.pausesMs, `${id}: pauses`);
    assert.ok(isAudible(audio.subarray(0, 160)) && isAudible(audio.subarray(audio.length - 160)), `${id} starts and ends with speech`);
  }
  // Another voice gives other audio with the same pauses.
  const other = await multiPartAudio(multiPartAnswer('yes-please'), 'flite/kal16');
  assert.deepEqual(silences(other, 100).map(([, n]) => n / 8), [350]);
  await assert.rejects(multiPartAudio(multiPartAnswer('yes-please'), 'flite/nobody'), /no voice nobody/);
});
