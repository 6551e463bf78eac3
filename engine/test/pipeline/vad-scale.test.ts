// The VAD service with many calls at once: real worker threads, the real Silero model, real speech.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VadService, WINDOW_MS } from '../../src/pipeline/vad/vad-service.ts';
import { prompt8k } from './helpers/audio.ts';
import { log } from './helpers/harness.ts';
import { PROMPTS, decisions, pushRealtime, record, speech16k, waitSettled, type StreamRecord } from './vad-load.ts';

const STREAMS = 100;
/** Distinct audios: every prompt at a few start offsets (so streams complete their windows in different ticks). */
const AUDIOS = PROMPTS.flatMap((name) => [0, 45, 110].map((leadMs) => speech16k(name, leadMs)));

/** `ms` of uniform noise at `rms` (of 32768), from a fixed seed. */
function noise(ms: number, rms: number): Int16Array {
  const out = new Int16Array((ms * 16000) / 1000);
  const peak = rms * Math.sqrt(3);
  let seed = 1;
  for (let i = 0; i < out.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    out[i] = Math.round((seed / 0x7fffffff) * 2 * peak - peak);
  }
  return out;
}

/** Where speech starts in `pcm`, ms (the first sample louder than −36 dBFS). */
function onsetMs(pcm: Int16Array): number {
  return (pcm.findIndex((s) => Math.abs(s) > 500) * 1000) / 16000;
}

/** Each audio through a stream of its own, alone, pushed in one go: the reference. */
async function alone(vad: VadService, audio: Int16Array): Promise<number[]> {
  const rec = record(vad);
  rec.stream.push(audio);
  await waitSettled([rec]);
  rec.stream.close();
  return rec.probs;
}

describe('VAD service under many concurrent calls', () => {
  let vad: VadService;
  before(async () => {
    vad = await VadService.start({ log, workers: 2 });
  });
  after(() => vad.close());

  it('returns every window of 100 real-time streams, with the decisions each gets alone', async () => {
    const reference: number[][] = [];
    for (const audio of AUDIOS) reference.push(await alone(vad, audio));
    assert.equal(vad.stats.skippedWindows, 0);
    for (const probs of reference) assert.ok(decisions(probs).some((d) => d.startsWith('start')), 'every reference audio has speech');

    const streams = Array.from({ length: STREAMS }, (_, i) => ({ rec: record(vad), audio: AUDIOS[i % AUDIOS.length], ref: reference[i % AUDIOS.length] }));
    await pushRealtime(streams.map((s) => ({ stream: s.rec.stream, audio: s.audio })), vad);
    const records: StreamRecord[] = streams.map((s) => s.rec);
    await waitSettled(records);

    assert.equal(vad.stats.skippedWindows, 0, `skipped ${JSON.stringify(vad.stats.skipped)}`);
    for (const [i, { rec, ref }] of streams.entries()) {
      assert.equal(rec.stream.stats.skipped, 0);
      assert.equal(rec.probs.length, Math.floor(streams[i].audio.length / 512), `stream ${i}: every window`);
      assert.deepEqual(rec.endMs, rec.probs.map((_, k) => (k + 1) * WINDOW_MS), `stream ${i}: in order, on its timeline`);
      assert.deepEqual(decisions(rec.probs), decisions(ref), `stream ${i}: same speech decisions as alone`);
      const drift = Math.max(...rec.probs.map((p, k) => Math.abs(p - ref[k])));
      assert.ok(drift < 1e-4, `stream ${i}: probabilities match alone (off by ${drift})`);
    }
    for (const { rec } of streams) rec.stream.close();
  });

  it('scores quiet stretches without the model, and hears the speech after them at once', async () => {
    // Digital silence and a quiet line (−62 dBFS) before speech: past the first 256 ms, no inference.
    const first = speech16k('vm-login', 2000);
    const quietLine = noise(2000, 26);
    const second = speech16k('conf-getpin');
    const parts = [first, quietLine, second];
    const audio = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      audio.set(p, at);
      at += p.length;
    }
    const onsets = [onsetMs(first), ((first.length + quietLine.length) * 1000) / 16000 + onsetMs(second)];
    const quietBefore = vad.stats.quietWindows;
    const probs = await alone(vad, audio);
    const quiet = vad.stats.quietWindows - quietBefore;
    assert.equal(probs.length, Math.floor(audio.length / 512), 'every window has its probability');
    // At least the silent lead, the quiet line and the prompts' silent tails, less 256 ms of each.
    assert.ok(quiet >= 100, `${quiet} of ${probs.length} windows scored without the model`);
    const starts = decisions(probs).filter((d) => d.startsWith('start')).map((d) => Number(d.split('@')[1]));
    for (const onset of onsets) {
      assert.ok(starts.some((ms) => ms >= onset && ms <= onset + 160), `speech from ${onset} ms heard within 160 ms: starts at ${starts.join(', ')}`);
    }

    // A line at −45 dBFS is not quiet: every window of it goes to the model.
    const loudBefore = vad.stats.quietWindows;
    await alone(vad, noise(1000, 180));
    assert.equal(vad.stats.quietWindows, loudBefore, 'no window above the quiet level is skipped');
  });

  it('scores a telephone line at its own 8 kHz beside 16 kHz streams, with the speech the 16 kHz branch hears', async () => {
    // Both rates on the same workers at once: a batch carries one rate, and a window must never run at the other.
    const streams = PROMPTS.flatMap((name) => {
      const prompt = prompt8k(name);
      const narrow = new Int16Array(prompt.length + 4800); // the 600 ms of silence speech16k() ends with
      narrow.set(prompt);
      return [
        { name, rate: 8000 as const, audio: narrow, rec: record(vad, 8000) },
        { name, rate: 16000 as const, audio: speech16k(name), rec: record(vad, 16000) },
      ];
    });
    for (const { rec, audio } of streams) rec.stream.push(audio);
    await waitSettled(streams.map((s) => s.rec));
    assert.equal(vad.stats.skippedWindows, 0, `skipped ${JSON.stringify(vad.stats.skipped)}`);
    for (let i = 0; i < streams.length; i += 2) {
      const [narrow, wide] = [streams[i], streams[i + 1]];
      assert.equal(narrow.rec.probs.length, Math.floor(narrow.audio.length / 256), `${narrow.name}: every 8 kHz window`);
      assert.deepEqual(narrow.rec.endMs, narrow.rec.probs.map((_, k) => (k + 1) * WINDOW_MS), `${narrow.name}: on the same 32 ms timeline`);
      const heard = (probs: number[]) => decisions(probs).map((d) => Number(d.split('@')[1]));
      const [n, w] = [heard(narrow.rec.probs), heard(wide.rec.probs)];
      assert.ok(n.length === 2 && w.length === 2, `${narrow.name}: one utterance at each rate (8 kHz ${n}, 16 kHz ${w})`);
      // Measured on these prompts: the 8 kHz branch starts and ends within two windows of the 16 kHz one.
      for (let k = 0; k < 2; k++) assert.ok(Math.abs(n[k] - w[k]) <= 2 * WINDOW_MS, `${narrow.name}: 8 kHz ${n} vs 16 kHz ${w}`);
    }
    for (const { rec } of streams) rec.stream.close();
  });

});
