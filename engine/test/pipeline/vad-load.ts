// Real speech and real-time load for the VAD service: the tests and the benchmark share these.
import { Resampler } from '@ai-agent/common/audio';
import { SpeechDetector } from '../../src/pipeline/vad/speech-detector.ts';
import type { VadRate } from '../../src/pipeline/vad/silero-protocol.ts';
import { WINDOW_MS, type VadService, type VadStream } from '../../src/pipeline/vad/vad-service.ts';
import { prompt8k } from './helpers/audio.ts';

/** Allison prompts: speech with pauses between words. */
export const PROMPTS = ['hours', 'vm-newpassword', 'vm-helpexit', 'agent-pass', 'vm-goodbye', 'auth-thankyou', 'conf-getpin', 'vm-login'];
const RATE = 16000;
const FRAME = 320;

/** A prompt at 16 kHz (as the pipeline hands it to the VAD), after `leadMs` of silence and before 600 ms. */
export function speech16k(name: string, leadMs = 0): Int16Array {
  const r = new Resampler(8000, RATE);
  const speech = r.process(prompt8k(name)).slice();
  r.destroy();
  const out = new Int16Array(Math.round((leadMs * RATE) / 1000) + speech.length + (600 * RATE) / 1000);
  out.set(speech, Math.round((leadMs * RATE) / 1000));
  return out;
}

/** Speech start/end decisions, as the conversation makes them, from a stream's probabilities. */
export function decisions(probs: readonly number[]): string[] {
  const detector = new SpeechDetector({ threshold: 0.5, minSilenceMs: 300, windowMs: WINDOW_MS });
  const out: string[] = [];
  probs.forEach((p, i) => {
    const change = detector.update(p, (i + 1) * WINDOW_MS, 0);
    if (change) out.push(`${change}@${(i + 1) * WINDOW_MS}`);
  });
  return out;
}

/** What one stream got back. */
export interface StreamRecord {
  stream: VadStream;
  probs: number[];
  endMs: number[];
  /** Result time minus push time, per delivered window. */
  lagMs: number[];
}

export function record(vad: VadService, rate: VadRate = 16000): StreamRecord {
  const rec: StreamRecord = { stream: null as unknown as VadStream, probs: [], endMs: [], lagMs: [] };
  rec.stream = vad.open((p, endMs, at) => {
    rec.probs.push(p);
    rec.endMs.push(endMs);
    rec.lagMs.push(performance.now() - at);
  }, rate);
  return rec;
}

/** Every completed window of these streams has its probability or a skip count. */
function settled(records: readonly StreamRecord[]): boolean {
  return records.every((r) => r.probs.length + r.stream.stats.skipped === r.stream.stats.windows);
}

export async function waitSettled(records: readonly StreamRecord[], timeoutMs = 20_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!settled(records)) {
    if (performance.now() > until) throw new Error('vad results did not arrive');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface RealtimeRun {
  /** Largest backlog seen at any tick. */
  maxBacklog: number;
}

/**
 * Pushes each stream its audio in 20 ms frames against the wall clock, all streams in the same tick (as the
 * pacer does), until `durationMs` (audio loops) or every audio has ended. `onTick` runs after each tick.
 */
export async function pushRealtime(
  streams: ReadonlyArray<{ stream: VadStream; audio: Int16Array }>,
  vad: VadService,
  options: { durationMs?: number; loop?: boolean; onTick?: () => void } = {},
): Promise<RealtimeRun> {
  const frames = options.durationMs !== undefined ? Math.floor(options.durationMs / 20) : Math.max(...streams.map((s) => Math.ceil(s.audio.length / FRAME)));
  const run: RealtimeRun = { maxBacklog: 0 };
  const start = performance.now();
  let sent = 0;
  while (sent < frames) {
    const due = Math.min(frames, Math.floor((performance.now() - start) / 20) + 1);
    for (; sent < due; sent++) {
      for (const { stream, audio } of streams) {
        const total = Math.ceil(audio.length / FRAME);
        if (!options.loop && sent >= total) continue;
        const f = sent % total;
        stream.push(audio.subarray(f * FRAME, (f + 1) * FRAME));
      }
    }
    options.onTick?.();
    run.maxBacklog = Math.max(run.maxBacklog, vad.stats.backlog);
    await new Promise((r) => setTimeout(r, Math.max(0, start + sent * 20 - performance.now())));
  }
  return run;
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
