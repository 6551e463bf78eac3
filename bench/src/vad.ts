// VAD capacity: real worker threads, the real Silero model, real speech (Allison prompts). How many 32 ms windows
// per second one worker and the pool infer when kept busy (at 16 kHz, and one worker at 8 kHz), and how many calls pushing audio in real time they
// serve with no window skipped and results promptly back (p99 within LAG_LIMIT_MS). Every figure depends on the
// cores left free by whatever else runs on the machine.
// `node --import tsx bench/src/vad.ts` runs it alone.
import { pathToFileURL } from 'node:url';
import { createLogger } from '@ai-agent/common';
import { VadService, defaultVadWorkers } from '../../engine/src/pipeline/vad/vad-service.ts';
import type { VadRate } from '../../engine/src/pipeline/vad/silero-protocol.ts';
import { prompt8k } from '../../engine/test/pipeline/helpers/audio.ts';
import { PROMPTS, pushRealtime, record, speech16k, waitSettled, type StreamRecord } from '../../engine/test/pipeline/vad-load.ts';
import { percentile } from './stats.ts';

type Figures = Record<string, { value: number; unit: string }>;

const log = createLogger({ service: 'bench', level: 'silent' });
const AUDIOS = PROMPTS.map((name, i) => speech16k(name, i * 15));
const THROUGHPUT_MS = 3000;
const REALTIME_MS = 4000;
/** A load is served if no window is skipped and 99 % of results are back within this long after the push. */
const LAG_LIMIT_MS = 100;
const WINDOWS_PER_STREAM_S = 1000 / 32;

function workersLabel(n: number): string {
  return n === 1 ? '1 worker' : `${n} workers`;
}

/**
 * Windows per second with every worker always busy: each stream keeps a few windows outstanding. At 8 kHz (a
 * telephone line's own audio, see VadRate) a window is the same 32 ms of the same speech, half the samples.
 */
async function throughput(workers: number, sampleRate: VadRate = 16000): Promise<number> {
  const vad = await VadService.start({ log, workers, maxLagMs: 60_000 });
  try {
    const records = Array.from({ length: 256 * workers }, () => record(vad, sampleRate));
    const window = sampleRate === 8000 ? prompt8k(PROMPTS[0]).subarray(4000, 4256) : AUDIOS[0].subarray(8000, 8512);
    const delivered = (): number => records.reduce((n, r) => n + r.probs.length, 0);
    let pushed = 0;
    let start = 0;
    let from = 0;
    const warmUntil = performance.now() + 500;
    for (;;) {
      const now = performance.now();
      if (start === 0 && now >= warmUntil) {
        start = now;
        from = delivered();
      }
      if (start !== 0 && now - start >= THROUGHPUT_MS) break;
      while (pushed - delivered() < 3 * records.length) {
        for (const r of records) r.stream.push(window);
        pushed += records.length;
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    const rate = ((delivered() - from) * 1000) / (performance.now() - start);
    if (vad.stats.skippedWindows > 0) throw new Error(`throughput run skipped windows: ${JSON.stringify(vad.stats.skipped)}`);
    await waitSettled(records);
    return rate;
  } finally {
    await vad.close();
  }
}

interface RealtimeResult {
  skipped: number;
  p99LagMs: number;
}

/** `streams` calls pushing 20 ms frames against the wall clock for REALTIME_MS. */
async function realtime(workers: number, streams: number): Promise<RealtimeResult> {
  const vad = await VadService.start({ log, workers });
  try {
    const records: StreamRecord[] = Array.from({ length: streams }, () => record(vad));
    await pushRealtime(
      records.map((r, i) => ({ stream: r.stream, audio: AUDIOS[i % AUDIOS.length] })),
      vad,
      { durationMs: REALTIME_MS, loop: true },
    );
    await waitSettled(records);
    return { skipped: vad.stats.skippedWindows, p99LagMs: percentile(records.flatMap((r) => r.lagMs), 99) };
  } finally {
    await vad.close();
  }
}

/** The most real-time streams served (see LAG_LIMIT_MS), searched around what the throughput allows. */
async function maxRealtimeStreams(workers: number, windowsPerS: number): Promise<{ streams: number; p99LagMs: number }> {
  const served = async (n: number): Promise<RealtimeResult | null> => {
    const r = await realtime(workers, n);
    const ok = r.skipped === 0 && r.p99LagMs <= LAG_LIMIT_MS;
    console.log(`  ${workersLabel(workers)}, ${n} streams: skipped ${r.skipped}, p99 lag ${r.p99LagMs.toFixed(0)} ms → ${ok ? 'served' : 'not served'}`);
    return ok ? r : null;
  };
  const estimate = Math.max(10, Math.round(windowsPerS / WINDOWS_PER_STREAM_S));
  let lo = 0;
  let best: RealtimeResult | null = null;
  let hi = estimate;
  // Grow until a load is not served, then bisect to within 5 %.
  for (;;) {
    const r = await served(hi);
    if (!r) break;
    lo = hi;
    best = r;
    hi = Math.round(hi * 1.5);
  }
  while (hi - lo > Math.max(5, lo * 0.05)) {
    const mid = Math.round((lo + hi) / 2);
    const r = await served(mid);
    if (r) {
      lo = mid;
      best = r;
    } else hi = mid;
  }
  return { streams: lo, p99LagMs: best?.p99LagMs ?? NaN };
}

export async function runVadBench(): Promise<Figures> {
  const figures: Figures = {};
  // One worker, two, and the default pool for this machine's cores.
  for (const workers of new Set([1, 2, defaultVadWorkers()])) {
    const label = workersLabel(workers);
    const rate = await throughput(workers);
    figures[`vad windows per second, ${label}`] = { value: Math.round(rate), unit: 'windows/s' };
    console.log(`  ${label}: ${Math.round(rate)} windows/s (${Math.round(rate / WINDOWS_PER_STREAM_S)} streams' worth)`);
    const max = await maxRealtimeStreams(workers, rate);
    figures[`vad real-time streams served, ${label}`] = { value: max.streams, unit: 'streams' };
    figures[`vad p99 lag at that load, ${label}`] = { value: max.p99LagMs, unit: 'ms' };
  }
  const narrow = await throughput(1, 8000);
  figures['vad windows per second, 1 worker, 8 kHz audio (telephone lines)'] = { value: Math.round(narrow), unit: 'windows/s' };
  console.log(`  1 worker, 8 kHz audio: ${Math.round(narrow)} windows/s`);
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await runVadBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${Number.isInteger(f.value) ? f.value : f.value.toFixed(1)} ${f.unit}`);
  process.exit(0);
}
