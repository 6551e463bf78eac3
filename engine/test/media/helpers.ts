import { readFileSync } from 'node:fs';
import { createLogger, type Logger } from '@ai-agent/common';
import { Resampler } from '@ai-agent/common/audio';
import assert from 'node:assert/strict';
import type { InboundFrame, JitterBufferStats, MediaStream } from '../../src/call/index.ts';

export const PROMPTS_DIR = process.env.ASTERISK_SOUNDS_DIR ?? '/usr/share/asterisk/sounds/en_US_f_Allison';

/** A Debian Asterisk prompt (8 kHz mono 16-bit WAV) as samples. */
export function loadPrompt(name: string): Int16Array {
  const buf = readFileSync(`${PROMPTS_DIR}/${name}.wav`);
  let offset = 12;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    if (id === 'data') {
      const out = new Int16Array(size >> 1);
      for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(offset + 8 + i * 2);
      return out;
    }
    offset += 8 + size + (size & 1);
  }
  throw new Error(`no data chunk in ${name}`);
}

export function testLogger(): Logger {
  return createLogger({ service: 'media-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

/**
 * Keeps a copy of every frame the pipeline would see (a stream reuses its frame between ticks) and, with
 * `echo`, writes each non-silent one straight back: a loopback "agent" that keeps both directions busy.
 */
export function recordFrames(stream: MediaStream, options: { echo?: boolean } = {}): InboundFrame[] {
  const frames: InboundFrame[] = [];
  stream.on('frame', (f) => {
    frames.push({ ...f, samples: f.samples.slice() });
    if (options.echo && f.kind !== 'silence') stream.write(f.samples, 16000);
  });
  return frames;
}

export function concat(chunks: Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export function resample(pcm: Int16Array, from: number, to: number): Int16Array {
  if (from === to) return pcm.slice();
  const r = new Resampler(from, to, 8);
  // Push zeros after the signal so the filter's delay line is emptied into the output.
  const out = concat([r.process(pcm).slice(), r.process(new Int16Array(Math.ceil(from / 50))).slice()]);
  r.destroy();
  return out;
}

/**
 * SNR (dB) of `test` against `ref` after finding the lag (within ±maxLag samples) that lines them up best
 * and the least-squares gain. Only the span where `ref` is present is scored.
 */
export function alignedSnr(ref: Int16Array, test: Int16Array, maxLag = 4000): { snrDb: number; lag: number; gain: number } {
  let bestLag = 0;
  let bestCorr = -Infinity;
  // Coarse search on the envelope would be faster; plain correlation on a decimated grid then refine is enough.
  const step = 4;
  const corrAt = (lag: number, stride: number): number => {
    let c = 0;
    for (let i = 0; i < ref.length; i += stride) {
      const j = i + lag;
      if (j >= 0 && j < test.length) c += ref[i] * test[j];
    }
    return c;
  };
  for (let lag = -maxLag; lag <= maxLag; lag += step) {
    const c = corrAt(lag, 3);
    if (c > bestCorr) {
      bestCorr = c;
      bestLag = lag;
    }
  }
  const coarse = bestLag;
  bestCorr = -Infinity;
  for (let lag = coarse - step; lag <= coarse + step; lag++) {
    const c = corrAt(lag, 1);
    if (c > bestCorr) {
      bestCorr = c;
      bestLag = lag;
    }
  }
  let rt = 0;
  let tt = 0;
  for (let i = 0; i < ref.length; i++) {
    const j = i + bestLag;
    const t = j >= 0 && j < test.length ? test[j] : 0;
    rt += ref[i] * t;
    tt += t * t;
  }
  const gain = tt > 0 ? rt / tt : 0;
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < ref.length; i++) {
    const j = i + bestLag;
    const t = j >= 0 && j < test.length ? test[j] * gain : 0;
    signal += ref[i] * ref[i];
    noise += (ref[i] - t) ** 2;
  }
  return { snrDb: 10 * Math.log10(signal / Math.max(noise, 1e-9)), lag: bestLag, gain };
}

/** Longest run of consecutive samples with |x| ≤ threshold inside [start, end). */
export function longestQuietRun(pcm: Int16Array, threshold: number, start = 0, end = pcm.length): number {
  let best = 0;
  let run = 0;
  for (let i = start; i < end; i++) {
    if (Math.abs(pcm[i]) <= threshold) {
      run++;
      if (run > best) best = run;
    } else run = 0;
  }
  return best;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Sends `count` items on an absolute 20 ms timeline (like Asterisk's RTP), calling `send(i)` for each.
 * `delayOf(i)` adds per-item network delay (jitter); items are sent when their delayed time comes.
 */
export async function paced(count: number, send: (i: number) => void, delayOf: (i: number) => number = () => 0): Promise<void> {
  const start = performance.now();
  const due = Array.from({ length: count }, (_, i) => ({ i, at: start + i * 20 + delayOf(i) })).sort((a, b) => a.at - b.at);
  for (const item of due) {
    const wait = item.at - performance.now();
    if (wait > 1) await sleep(wait - 0.5);
    send(item.i);
  }
}

/** Deterministic PRNG (mulberry32) so impairment tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Voiced blocks of `ref` (blockMs long) and how many of them are found in `test` at ≥ minSnrDb, each block
 * free to sit at its own lag (jitter buffers stretch and shrink, so one global alignment does not hold for
 * long).
 */
export function blockMatches(ref: Int16Array, test: Int16Array, rate: number, blockMs = 100, minSnrDb = 10): { voiced: number; matched: number } {
  const block = (rate * blockMs) / 1000;
  const global = alignedSnr(ref, test, rate).lag;
  const window = Math.round(rate * 0.15);
  let voiced = 0;
  let matched = 0;
  for (let start = 0; start + block <= ref.length; start += block) {
    let energy = 0;
    for (let i = start; i < start + block; i++) energy += ref[i] * ref[i];
    if (energy / block < 500 * 500) continue; // skip pauses
    voiced++;
    // A lag matches when its error energy stays under this; stop summing a lag as soon as it cannot.
    const maxNoise = energy / 10 ** (minSnrDb / 10);
    for (let lag = global - window; lag <= global + window; lag++) {
      let noise = 0;
      for (let i = start; i < start + block && noise <= maxNoise; i++) {
        const j = i + lag;
        const t = j >= 0 && j < test.length ? test[j] : 0;
        noise += (ref[i] - t) ** 2;
      }
      if (noise <= maxNoise) {
        matched++;
        break;
      }
    }
  }
  return { voiced, matched };
}

/** Fraction of voiced blocks of `ref` found in `test` (see `blockMatches`). */
export function blockMatchRatio(ref: Int16Array, test: Int16Array, rate: number, blockMs = 100, minSnrDb = 10): number {
  const { voiced, matched } = blockMatches(ref, test, rate, blockMs, minSnrDb);
  return voiced === 0 ? 0 : matched / voiced;
}

/**
 * Asserts `heard` carries `ref` intact: every voiced 100 ms block found at ≥ minSnrDb, each at its own lag.
 * One alignment for the whole prompt is not used: when the machine is loaded, a sender sharing the test's
 * process delivers late, and the jitter buffer's answer (conceal a frame, stretch, drop one to catch up)
 * shifts everything after it. Each such event may spoil the (at most two) blocks it touches, nothing else;
 * a real defect (wrong byte order, a codec or resampling slip, lost audio) spoils far more, and at least
 * half of the blocks must match whatever happened.
 */
export function assertBlocksIntact(ref: Int16Array, heard: Int16Array, rate: number, minSnrDb: number, jitter: JitterBufferStats, what: string): void {
  const events = jitter.concealed + jitter.stretched + jitter.shrunk + jitter.late + jitter.resync;
  const { voiced, matched } = blockMatches(ref, heard, rate, 100, minSnrDb);
  assert.ok(voiced > 10, `${what}: voiced blocks ${voiced}`);
  assert.ok(matched >= voiced - 2 * events && matched >= voiced / 2, `${what}: ${matched}/${voiced} blocks at ≥ ${minSnrDb} dB: ${JSON.stringify(jitter)}`);
}
