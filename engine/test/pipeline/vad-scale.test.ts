// The VAD service with many calls at once: real worker threads, the real Silero model, real speech.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VadService, WINDOW_MS } from '../../src/pipeline/vad/vad-service.ts';
import { log } from './helpers/harness.ts';
import { PROMPTS, decisions, pushRealtime, record, speech16k, waitSettled, type StreamRecord } from './vad-load.ts';

const STREAMS = 100;
/** Distinct audios: every prompt at a few start offsets (so streams complete their windows in different ticks). */
const AUDIOS = PROMPTS.flatMap((name) => [0, 45, 110].map((leadMs) => speech16k(name, leadMs)));

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
});
