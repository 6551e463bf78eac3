// What every conformance case shares: the failures a fake can be scripted to produce and the typed error each
// must become, real prompt audio at the pipeline's rate, a logger that keeps what adapters log, and checks
// that a failure is typed, prompt and free of the key.
import assert from 'node:assert/strict';
import type { Logger } from '@ai-agent/common';
import { Resampler } from '@ai-agent/common/audio';
import { ProviderError, type ProviderFailure } from '../../../src/providers/errors.ts';
import { prompt8k } from '../../pipeline/helpers/audio.ts';

export type FaultKind = 'drop' | 401 | 429 | 500 | 'stall';
export const FAULTS: readonly FaultKind[] = ['drop', 401, 429, 500, 'stall'];
/** The failure each scripted fault must surface as. */
export const EXPECTED: Record<FaultKind, ProviderFailure> = { drop: 'connection', 401: 'auth', 429: 'rate_limited', 500: 'server', stall: 'timeout' };

/** Idle timeout the subjects run with, so a stall fails within the suite's budget. */
export const TEST_IDLE_MS = 800;
/** Longest any failure may take to surface: a hang fails the case, not the suite's timeout. */
export const FAILURE_DEADLINE_MS = 8000;

export const RATE = 16000;
const FRAME = 320;

export interface Turn {
  /** Pipeline audio (16 kHz): quiet, the prompt, quiet. */
  pcm: Int16Array;
  /** Where the speech is in `pcm` (ms), by level. */
  speech: { startMs: number; endMs: number };
}

/** A Debian Asterisk prompt between 400 ms and 800 ms of quiet, at the pipeline's rate. */
export function promptTurn(name: string): Turn {
  const up = new Resampler(8000, RATE);
  const prompt = up.process(prompt8k(name)).slice();
  up.destroy();
  const lead = (RATE * 400) / 1000;
  const pcm = new Int16Array(lead + prompt.length + (RATE * 800) / 1000);
  pcm.set(prompt, lead);
  let first = -1;
  let last = -1;
  for (let f = 0; f * FRAME < pcm.length; f++) {
    const frame = pcm.subarray(f * FRAME, (f + 1) * FRAME);
    let sum = 0;
    for (const s of frame) sum += s * s;
    if (sum / frame.length > 500 * 500) {
      if (first < 0) first = f;
      last = f;
    }
  }
  return { pcm, speech: { startMs: first * 20, endMs: (last + 1) * 20 } };
}

/** 20 ms frames of `pcm` from `fromMs` to `toMs`, each in a reused array as the pipeline hands them out. */
export function* frames(pcm: Int16Array, fromMs = 0, toMs = (pcm.length / RATE) * 1000): Iterable<Int16Array> {
  const reused = new Int16Array(FRAME);
  for (let at = (fromMs * RATE) / 1000; at + FRAME <= (toMs * RATE) / 1000; at += FRAME) {
    reused.set(pcm.subarray(at, at + FRAME));
    yield reused;
  }
}

export interface RecordingLogger {
  log: Logger;
  lines: string[];
}

/** A logger that keeps every line (object and message) as JSON text, to search for keys. */
export function recordingLogger(): RecordingLogger {
  const lines: string[] = [];
  const write =
    (level: string) =>
    (obj: unknown, msg?: string): void => {
      lines.push(JSON.stringify({ level, obj: obj instanceof Error ? { message: obj.message, stack: obj.stack } : obj, msg }));
    };
  const log: Record<string, unknown> = { level: 'trace' };
  for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace']) log[level] = write(level);
  log.child = () => log;
  log.isLevelEnabled = () => true;
  return { log: log as unknown as Logger, lines };
}

/** Asserts a typed failure of the expected kind whose every visible part is free of `key`. */
export function assertFailure(err: unknown, kind: ProviderFailure, key: string, logged: string[]): ProviderError {
  assert.ok(err instanceof ProviderError, `a ProviderError, got ${String(err)}`);
  assert.equal(err.failure, kind, err.message);
  for (const text of [err.message, err.stack ?? '', JSON.stringify(err), ...logged]) assert.ok(!text.includes(key), `the key leaked: ${text}`);
  return err;
}

/** Resolves with the value of `promise`, or rejects if it takes longer than the deadline (a hang). */
export async function within<T>(promise: Promise<T>, ms = FAILURE_DEADLINE_MS, what = 'the adapter'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung for ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
