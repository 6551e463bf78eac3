import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw, Resampler } from '@ai-agent/common/audio';
import { Pacer } from '../../src/audio/pacer.ts';
import type { PacerClock } from '../../src/audio/clock.ts';
import { ButterworthLowpass } from '../../src/audio/lowpass.ts';
import { SampleQueue } from '../../src/audio/sample-queue.ts';
import { alignedSnr, loadPrompt } from './helpers.ts';

test('g711: reference code points and speech SNR', () => {
  const s = new Int16Array([0, 1000, -1000, 32767, -32768]);
  const u = new Uint8Array(5);
  encodeUlaw(s, u);
  // ITU-T G.711 µ-law: 0 → 0xFF, full scale positive → 0x80, full scale negative → 0x00.
  assert.deepEqual([u[0], u[3], u[4]], [0xff, 0x80, 0x00]);
  const a = new Uint8Array(5);
  encodeAlaw(s, a);
  // A-law: +0 → 0xD5, full scale positive → 0xAA, full scale negative → 0x2A.
  assert.deepEqual([a[0], a[3], a[4]], [0xd5, 0xaa, 0x2a]);
  // Decoding every byte and re-encoding gives the byte back (the code is its own fixed point).
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const [enc, dec] of [[encodeUlaw, decodeUlaw], [encodeAlaw, decodeAlaw]] as const) {
    const pcm = new Int16Array(256);
    dec(all, pcm);
    const again = new Uint8Array(256);
    enc(pcm, again);
    for (let i = 0; i < 256; i++) {
      // µ-law has two zeros (0x7F and 0xFF); both decode to 0 and encode to 0xFF.
      if (pcm[i] !== 0) assert.equal(again[i], i, `byte ${i}`);
    }
  }
  const speech = loadPrompt('tt-weasels');
  for (const [enc, dec, min] of [[encodeUlaw, decodeUlaw, 35], [encodeAlaw, decodeAlaw, 34]] as const) {
    const bytes = new Uint8Array(speech.length);
    enc(speech, bytes);
    const back = new Int16Array(speech.length);
    dec(bytes, back);
    const snr = alignedSnr(speech, back, 0).snrDb;
    // G.711 companding keeps ~38 dB SNR over a wide level range.
    assert.ok(snr > min, `${enc.name} SNR ${snr.toFixed(1)}`);
  }
});

function toneLevelDb(rateIn: number, rateOut: number, freq: number): number {
  const r = new Resampler(rateIn, rateOut);
  const n = rateIn; // 1 s
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.round(16000 * Math.sin((2 * Math.PI * freq * i) / rateIn));
  const parts: number[] = [];
  for (let i = 0; i < n; i += rateIn / 50) parts.push(...r.process(x.subarray(i, i + rateIn / 50)));
  r.destroy();
  const y = parts.slice(parts.length / 4); // skip the filter's start-up
  const rms = Math.sqrt(y.reduce((a, v) => a + v * v, 0) / y.length);
  return 20 * Math.log10(rms / (16000 / Math.SQRT2) + 1e-12);
}

/** Energy of `y` at `freq` relative to a full-amplitude tone (Goertzel-free: project on sin/cos). */
function componentDb(rate: number, freq: number, y: number[]): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < y.length; i++) {
    s += y[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    c += y[i] * Math.cos((2 * Math.PI * freq * i) / rate);
  }
  const amp = (2 * Math.sqrt(s * s + c * c)) / y.length;
  return 20 * Math.log10(amp / 16000 + 1e-12);
}

test('resampler: ≥ 60 dB alias rejection on a sweep above the new Nyquist, flat passband', () => {
  // Downsampling: every tone the output cannot represent must vanish, not fold back.
  for (const [from, to] of [[16000, 8000], [48000, 16000], [24000, 16000]]) {
    let worst = -Infinity;
    for (let f = (to / 2) * 1.05; f < from / 2 - 50; f += (from / 2 - to / 2) / 40) worst = Math.max(worst, toneLevelDb(from, to, f));
    assert.ok(worst <= -60, `${from}→${to}: worst alias ${worst.toFixed(1)} dB`);
  }
  // Upsampling 8→16 kHz: the image of a tone at f lands at 8000 − f and must be ≥ 60 dB down.
  let worstImage = -Infinity;
  for (let f = 200; f <= 3400; f += 200) {
    const r = new Resampler(8000, 16000);
    const x = new Int16Array(8000).map((_, i) => Math.round(16000 * Math.sin((2 * Math.PI * f * i) / 8000)));
    const y = Array.from(r.process(x)).slice(4000);
    r.destroy();
    worstImage = Math.max(worstImage, componentDb(16000, 8000 - f, y) - componentDb(16000, f, y));
  }
  assert.ok(worstImage <= -60, `8→16 kHz worst image ${worstImage.toFixed(1)} dB`);
  // Passband: speech frequencies pass within 0.5 dB.
  for (const f of [300, 1000, 3000]) assert.ok(Math.abs(toneLevelDb(8000, 16000, f)) < 0.5, `passband at ${f} Hz`);
});

test('resampler: processTo fills the caller\'s buffer with what process() returns, and refuses one too small', () => {
  const speech = loadPrompt('tt-weasels').subarray(0, 16000);
  const viaProcess = new Resampler(16000, 8000);
  const viaProcessTo = new Resampler(16000, 8000);
  const own = new Int16Array(viaProcessTo.outputLength(320));
  for (let i = 0; i + 320 <= speech.length; i += 320) {
    const frame = speech.subarray(i, i + 320);
    const expected = Array.from(viaProcess.process(frame));
    const count = viaProcessTo.processTo(frame, own);
    assert.equal(count, expected.length, `frame ${i / 320}`);
    assert.deepEqual(Array.from(own.subarray(0, count)), expected, `frame ${i / 320}`);
  }
  assert.throws(() => viaProcessTo.processTo(speech.subarray(0, 320), new Int16Array(160)), /too small/);
  viaProcess.destroy();
  viaProcessTo.destroy();
});

/** A simulated monotonic clock: timers fire late by a random 0–3 ms, like a busy event loop. */
class SimulatedClock implements PacerClock {
  t = 1000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private nextId = 1;
  constructor(private readonly lateness: () => number) {}
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + delayMs + this.lateness(), fn, id });
    return id;
  }
  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  runUntil(end: number): void {
    while (this.timers.length > 0) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}

test('pacer: no drift over 10 minutes of simulated time with late timers; stalls skip ticks, never burst', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const clock = new SimulatedClock(() => rand() * 3);
  const pacer = new Pacer({ clock });
  const sendTimes: number[] = [];
  pacer.add({ sendTick: () => sendTimes.push(clock.now()), receiveTick: () => {} });
  const origin = clock.now();
  clock.runUntil(origin + 10 * 60 * 1000);
  // 30 000 ticks in 10 minutes, and the last one is within the timer lateness of its ideal time.
  assert.ok(Math.abs(sendTimes.length - 30000) <= 1, `ticks ${sendTimes.length}`);
  const lastIdeal = origin + (sendTimes.length - 1) * 20;
  assert.ok(Math.abs(sendTimes.at(-1)! - lastIdeal) <= 3.5, `drift ${(sendTimes.at(-1)! - lastIdeal).toFixed(2)} ms`);
  assert.equal(pacer.stats.skippedTicks, 0);
  // A 200 ms stall: the ticks it swallowed are skipped and counted, the next ones run at their own time.
  const before = sendTimes.length;
  clock.t += 200;
  clock.runUntil(clock.t + 100);
  const after = sendTimes.slice(before);
  assert.ok(pacer.stats.skippedTicks >= 9 && pacer.stats.skippedTicks <= 11, `skipped ${pacer.stats.skippedTicks}`);
  for (let i = 1; i < after.length; i++) assert.ok(after[i] - after[i - 1] >= 15, 'no back-to-back burst after the stall');
  pacer.stop();
});

test('pacer: a real 2 s run keeps the absolute timeline (no cumulative drift)', async () => {
  const pacer = new Pacer();
  const ticks: Array<[tick: number, at: number]> = [];
  pacer.add({ sendTick: (tick) => ticks.push([tick, performance.now()]), receiveTick: () => {} });
  await new Promise((r) => setTimeout(r, 2000));
  pacer.stop();
  const n = ticks.length - 1;
  // Offset of each tick from an ideal 20 ms grid (by tick number, so a tick skipped after a stall does not
  // shift the rest). A late tick only ever adds to its offset, so the earliest tick of a window shows where
  // the schedule is, however loaded the machine: compare the first window's with the last one's. Timers
  // re-armed relative to the previous tick would slip ≥ 1 ms per tick, ~100 ms here.
  const [tick0, at0] = ticks[0];
  const offsets = ticks.map(([tick, at]) => at - (at0 + (tick - tick0) * 20));
  const drift = Math.min(...offsets.slice(-25)) - Math.min(...offsets.slice(1, 26));
  assert.ok(n >= 80, `ticks ${n}`);
  assert.ok(Math.abs(drift) < 1, `drift after ${n} ticks: ${drift.toFixed(2)} ms`);
});

test('sample queue: positions survive growth and wrap-around', () => {
  const q = new SampleQueue(4);
  const out = new Int16Array(7);
  let next = 0;
  let expect = 0;
  for (let round = 0; round < 50; round++) {
    const chunk = Int16Array.from({ length: (round % 9) + 1 }, () => next++);
    q.push(chunk);
    const got = q.pull(out, (round % 5) + 1);
    for (let i = 0; i < got; i++) assert.equal(out[i], expect++);
  }
  assert.equal(q.readPosition, expect);
  assert.equal(q.writePosition, next);
  assert.equal(q.length, next - expect);
});

/** Level (dB) of a 1 s tone at 8 kHz after `through`, fed 20 ms frames (the filter's start-up skipped). */
function toneThroughDb(freq: number, through: (frame: Int16Array) => Int16Array): number {
  const y: number[] = [];
  for (let i = 0; i < 8000; i += 160) {
    const frame = new Int16Array(160);
    for (let j = 0; j < 160; j++) frame[j] = Math.round(16000 * Math.sin((2 * Math.PI * freq * (i + j)) / 8000));
    y.push(...through(frame));
  }
  const tail = y.slice(y.length / 4);
  const rms = Math.sqrt(tail.reduce((a, v) => a + v * v, 0) / tail.length);
  return 20 * Math.log10(rms / (16000 / Math.SQRT2) + 1e-12);
}

test('lowpass: the 3.7 kHz band limit is the telephone round trip\'s (8 → 16 → 8 kHz), without the resampling', () => {
  const limit = new ButterworthLowpass(8000, 3700, 6);
  const out = new Int16Array(160);
  const up = new Resampler(8000, 16000);
  const down = new Resampler(16000, 8000);
  const filtered = (f: number): number => toneThroughDb(f, (frame) => out.subarray(0, limit.processTo(frame, out)));
  const roundTrip = (f: number): number => toneThroughDb(f, (frame) => down.process(up.process(frame)));
  for (const f of [300, 1000, 3000, 3500]) {
    assert.ok(Math.abs(filtered(f)) < 0.1, `${f} Hz passes (${filtered(f).toFixed(2)} dB)`);
    assert.ok(Math.abs(roundTrip(f)) < 0.1, `${f} Hz passes the round trip`);
  }
  // The edge: within 1.5 dB of the round trip at 3.7 kHz; both far down at 3.8 and 3.9 kHz.
  assert.ok(Math.abs(filtered(3700) - roundTrip(3700)) < 1.5, `3.7 kHz: ${filtered(3700).toFixed(1)} against ${roundTrip(3700).toFixed(1)} dB`);
  for (const [f, atMost] of [[3800, -15], [3900, -45]] as const) {
    assert.ok(filtered(f) < atMost, `${f} Hz: ${filtered(f).toFixed(1)} dB`);
    assert.ok(roundTrip(f) < atMost, `${f} Hz through the round trip: ${roundTrip(f).toFixed(1)} dB`);
  }
  assert.throws(() => new ButterworthLowpass(8000, 4000, 6), /not below half/);
  assert.throws(() => new ButterworthLowpass(8000, 3700, 3), /even/);
  up.destroy();
  down.destroy();
});
