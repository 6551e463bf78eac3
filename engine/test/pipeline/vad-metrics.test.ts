// Skipped VAD windows reach the engine's /metrics, by reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineMetrics } from '../../src/control/metrics/engine-metrics.ts';
import { VadService } from '../../src/pipeline/vad/vad-service.ts';
import { parseExposition, valueOf } from '../control/prometheus-text.ts';
import { log } from './helpers/harness.ts';
import { PROMPTS, record, speech16k, waitSettled } from './vad-load.ts';

describe('VAD metrics', () => {
  it('exports windows, quiet windows, skipped windows by reason and the backlog', async () => {
    // A lag budget far shorter than the backlog below takes to run: it must make stale skips.
    const vad = await VadService.start({ log, workers: 1, maxLagMs: 10 });
    try {
      const metrics = new EngineMetrics({ vad: () => vad.stats });
      const records = Array.from({ length: 50 }, () => record(vad));
      const audio = speech16k(PROMPTS[0]);
      for (const r of records) r.stream.push(audio.subarray(0, 512));
      await waitSettled(records);
      for (const r of records) r.stream.push(audio);
      await waitSettled(records);
      // A second of digital silence, a window at a time (no backlog to go stale): past its first windows, the
      // line is settled and quiet, and the model is spared.
      const quiet = record(vad);
      for (let i = 0; i < 31; i++) {
        quiet.stream.push(new Int16Array(512));
        await waitSettled([quiet]);
      }
      quiet.stream.close();
      const { stats } = vad;
      assert.ok(stats.skipped.stale > 0 && stats.windows > 0 && stats.quietWindows > 0, JSON.stringify(stats));

      const exposition = parseExposition(await metrics.render());
      assert.equal(valueOf(exposition, 'ai_agent_vad_windows_total'), stats.windows);
      assert.equal(valueOf(exposition, 'ai_agent_vad_quiet_windows_total'), stats.quietWindows);
      assert.equal(valueOf(exposition, 'ai_agent_vad_skipped_windows_total', { reason: 'stale' }), stats.skipped.stale);
      assert.equal(valueOf(exposition, 'ai_agent_vad_backlog_windows'), stats.backlog);
      for (const r of records) r.stream.close();
    } finally {
      await vad.close();
    }
  });
});
