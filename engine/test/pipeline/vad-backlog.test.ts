// The VAD service when its workers fall behind or die: real worker threads, the real Silero model, real speech.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { VadService, WINDOW_MS } from '../../src/pipeline/vad/vad-service.ts';
import { log } from './helpers/harness.ts';
import { PROMPTS, percentile, pushRealtime, record, speech16k, waitSettled, type StreamRecord } from './vad-load.ts';

const AUDIOS = PROMPTS.map((name, i) => speech16k(name, i * 15));

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function assertAccounted(vad: VadService, records: readonly StreamRecord[]): void {
  const { skipped } = vad.stats;
  assert.equal(vad.stats.skippedWindows, skipped.stale + skipped.overflow + skipped.failed, 'every skip has a reason');
  for (const r of records) {
    assert.equal(r.probs.length + r.stream.stats.skipped, r.stream.stats.windows, 'every window: a probability or a counted skip');
    for (let k = 1; k < r.endMs.length; k++) assert.ok(r.endMs[k] > r.endMs[k - 1], 'results stay in order');
    assert.ok(r.endMs.every((ms) => Number.isInteger(ms / WINDOW_MS)), 'results stay on the timeline');
  }
}

describe('VAD service when workers fall behind', () => {
  it('drops the oldest windows of an overloaded worker, counts them, stays bounded and recovers', async (t) => {
    const maxLagMs = 300;
    const vad = await VadService.start({ log, workers: 1, maxLagMs });
    try {
      // Far more real-time calls than one worker can take (it does a few hundred).
      const streams = 1200;
      const records = Array.from({ length: streams }, () => record(vad));
      const load = records.map((r, i) => ({ stream: r.stream, audio: AUDIOS[i % AUDIOS.length] }));
      const arrayBuffers = process.memoryUsage().arrayBuffers;
      let maxArrayBuffers = arrayBuffers;
      const overload = await pushRealtime(load, vad, {
        durationMs: 3000,
        loop: true,
        onTick: () => {
          maxArrayBuffers = Math.max(maxArrayBuffers, process.memoryUsage().arrayBuffers);
        },
      });
      await waitSettled(records);

      const lags = records.flatMap((r) => r.lagMs);
      t.diagnostic(
        `overload: ${sum(records.map((r) => r.stream.stats.windows))} windows, ${lags.length} delivered, skipped ${JSON.stringify(vad.stats.skipped)}, ` +
          `max backlog ${overload.maxBacklog}, buffers +${((maxArrayBuffers - arrayBuffers) / 2 ** 20).toFixed(1)} MiB, lag p50 ${percentile(lags, 50).toFixed(0)} / p99 ${percentile(lags, 99).toFixed(0)} ms`,
      );
      assert.ok(vad.stats.skipped.stale > 0, 'the worker fell behind');
      assert.equal(sum(records.map((r) => r.stream.stats.skipped)), vad.stats.skippedWindows);
      assertAccounted(vad, records);
      assert.ok(sum(records.map((r) => r.probs.length)) > 0, 'the worker kept working');
      // Bounded: at most maxLagMs of windows (and a tick's) wait per stream.
      const bound = streams * (Math.ceil(maxLagMs / WINDOW_MS) + 2);
      assert.ok(overload.maxBacklog <= bound, `backlog ${overload.maxBacklog} within ${bound}`);
      // Memory follows the backlog. arrayBuffers also counts windows already handed over but not yet collected
      // (58–67 MiB measured on 2 cores, against 63 MiB for two backlogs), so the bound is three backlogs: still
      // far below what keeping every window of the run would take (~245 MiB).
      const bytesPerWindow = 576 * 4;
      assert.ok(maxArrayBuffers - arrayBuffers < 3 * bound * bytesPerWindow, `buffers grew by ${((maxArrayBuffers - arrayBuffers) / 2 ** 20).toFixed(1)} MiB`);
      // Oldest first: what is delivered waited at most maxLagMs, whatever the load (the rest of the lag is
      // this saturated event loop's own delay in handing results over).
      assert.ok(percentile(lags, 99) < maxLagMs + 1000, `p99 lag ${percentile(lags, 99).toFixed(0)} ms`);

      // Load back to normal: the survivors get every window again, promptly.
      const survivors = records.slice(0, 5);
      for (const r of records.slice(5)) r.stream.close();
      const before = survivors.map((r) => ({ windows: r.stream.stats.windows, skipped: r.stream.stats.skipped, delivered: r.probs.length }));
      const skippedBefore = vad.stats.skippedWindows;
      await pushRealtime(
        survivors.map((r, i) => ({ stream: r.stream, audio: AUDIOS[i] })),
        vad,
        { durationMs: 2000, loop: true },
      );
      await waitSettled(survivors);
      assert.equal(vad.stats.skippedWindows, skippedBefore, 'no skips once the load is back to normal');
      assertAccounted(vad, survivors);
      for (const [i, r] of survivors.entries()) {
        assert.equal(r.stream.stats.skipped, before[i].skipped);
        assert.equal(r.probs.length - before[i].delivered, r.stream.stats.windows - before[i].windows);
        const recent = r.lagMs.slice(before[i].delivered);
        assert.ok(percentile(recent, 95) < 150, `p95 lag after recovery ${percentile(recent, 95).toFixed(0)} ms`);
      }
      assert.equal(vad.stats.backlog, 0);
    } finally {
      await vad.close();
    }
  });

  it('replaces a worker that dies; what it held is counted as failed', async () => {
    const vad = await VadService.start({ log, workers: 1 });
    try {
      const records = Array.from({ length: 20 }, () => record(vad));
      const load = records.map((r, i) => ({ stream: r.stream, audio: AUDIOS[i % AUDIOS.length] }));
      await pushRealtime(load, vad, { durationMs: 500, loop: true });
      // The service keeps its workers to itself: reach in to kill one, as a crash would, just before the
      // tick's windows are sent to it. Only between inferences: terminating one inside a run aborts the process.
      let killed = false;
      const { lanes } = vad as unknown as { lanes: Array<{ worker: Worker | null; inFlight: unknown[] }> };
      await pushRealtime(load, vad, {
        durationMs: 3000,
        loop: true,
        onTick: () => {
          if (killed || lanes[0].inFlight.length > 0) return;
          killed = true;
          void lanes[0].worker!.terminate();
        },
      });
      assert.ok(killed);
      await waitSettled(records);
      assert.equal(vad.stats.workerRestarts, 1);
      assert.ok(vad.stats.skipped.failed > 0, 'windows lost with the worker are counted');
      assertAccounted(vad, records);
      const delivered = records.map((r) => r.probs.length);
      await pushRealtime(load, vad, { durationMs: 500, loop: true });
      await waitSettled(records);
      records.forEach((r, i) => assert.ok(r.probs.length > delivered[i], 'the new worker serves the same streams'));
      for (const r of records) r.stream.close();
    } finally {
      await vad.close();
    }
  });

  it('closes while its worker is busy without taking the process down', async () => {
    const vad = await VadService.start({ log, workers: 1 });
    const records = Array.from({ length: 1000 }, () => record(vad));
    await pushRealtime(
      records.map((r, i) => ({ stream: r.stream, audio: AUDIOS[i % AUDIOS.length] })),
      vad,
      { durationMs: 1000, loop: true },
    );
    await new Promise((r) => setImmediate(r));
    await vad.close();
    assert.throws(() => vad.open(() => {}), /closed/);
  });
});
