import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alawDecode, alawEncode, soundPath, readWav, ulawDecode, ulawEncode, loadAudio } from '../src/index.ts';

test('G.711 µ-law and A-law agree with sox on a real prompt (to one quantisation step)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'g711-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const wav = soundPath('hello-world')!;
  const pcm = readWav(wav).samples;
  for (const [enc, encode, decode] of [['u-law', ulawEncode, ulawDecode], ['a-law', alawEncode, alawDecode]] as const) {
    const out = join(dir, `x.${enc}`);
    execFileSync('sox', ['-D', wav, '-t', 'raw', '-e', enc, '-b', '8', '-c', '1', '-r', '8000', out]);
    const expected = readFileSync(out);
    const ours = Buffer.alloc(pcm.length);
    encode(pcm, ours);
    // sox rounds the two low bits away before quantising (14-bit coder); Asterisk's ulaw.c/alaw.c quantise the
    // 16-bit magnitude directly, so near a decision level the two may pick neighbouring codes. Compare decoded
    // values: they must agree to one quantisation step.
    const a = new Int16Array(pcm.length);
    const b = new Int16Array(pcm.length);
    decode(ours, a);
    decode(expected, b);
    let mismatches = 0;
    for (let i = 0; i < pcm.length; i++) {
      if (ours[i] === expected[i]) continue;
      mismatches++;
      assert.ok(Math.abs(a[i] - b[i]) <= Math.max(16, Math.abs(a[i]) / 8), `${enc} sample ${i}: ${a[i]} vs ${b[i]}`);
    }
    assert.ok(mismatches < pcm.length * 0.15, `${enc}: ${mismatches} of ${pcm.length} bytes differ from sox`);
    const back = new Int16Array(expected.length);
    decode(expected, back);
    const slinOut = join(dir, `x.${enc}.raw`);
    execFileSync('sox', ['-t', 'raw', '-e', enc, '-b', '8', '-c', '1', '-r', '8000', out, '-t', 'raw', '-e', 'signed-integer', '-b', '16', slinOut]);
    const soxBack = new Int16Array(readFileSync(slinOut).buffer.slice(0));
    let maxDiff = 0;
    for (let i = 0; i < back.length; i++) maxDiff = Math.max(maxDiff, Math.abs(back[i] - soxBack[i]));
    assert.ok(maxDiff <= 8, `${enc} decode differs from sox by ${maxDiff}`);
  }
});

test('audio sources: Debian prompts, digits, synthesised speech and tones load at 8 kHz', async () => {
  const hello = await loadAudio('sound:hello-world');
  assert.ok(hello.length > 8000 && hello.length < 16000);
  const digits = await loadAudio('digits:12');
  assert.ok(digits.length > (await loadAudio('sound:digits/1')).length);
  const speech = await loadAudio('tts:Please transfer me to sales.');
  assert.ok(speech.length > 8000, 'espeak-ng produced speech');
  assert.ok(speech.some((s) => Math.abs(s) > 2000));
  const ring = await loadAudio('tone:ring');
  assert.equal(ring.length, 6 * 8000);
  await assert.rejects(loadAudio('sound:../../etc/passwd'), /prompt not found/);
});
