import { readFileSync } from 'node:fs';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pacer } from '../../src/audio/pacer.ts';
import { decodeUlaw, encodeUlaw } from '@ai-agent/common/audio';
import { RtpMediaServer } from '../../src/transport/rtp/rtp-server.ts';
import { AsteriskRtpSide, type PeerCodec } from './rtp-peer.ts';
import { startTimingSink } from './timing-sink.ts';
import { assertBlocksIntact, blockMatchRatio, concat, loadPrompt, longestQuietRun, percentile, prng, recordFrames, resample, sleep, testLogger, until } from './helpers.ts';

const log = testLogger();
const pacer = new Pacer();
const server = new RtpMediaServer({ log, host: '127.0.0.1', portMin: 0, portMax: 0, pacer });
after(() => server.close());

/** A µ-law packet of digital silence (what the stream sends while the agent is quiet). */
const isSilence = (p: { payload: Buffer }) => p.payload.every((b) => b === 0xff);

/** The prompt as it is on the wire after G.711 (the reference the far end could at best hear back). */
function g711Reference(prompt: Int16Array): Int16Array {
  const bytes = new Uint8Array(prompt.length);
  encodeUlaw(prompt, bytes);
  const out = new Int16Array(prompt.length);
  decodeUlaw(bytes, out);
  return out;
}

for (const codec of ['ulaw', 'alaw', 'slin16'] as PeerCodec[]) {
  test(`rtp ${codec}: real speech reaches the pipeline and comes back intact`, async () => {
    const prompt8k = loadPrompt('tt-weasels');
    const sent = codec === 'slin16' ? resample(prompt8k, 8000, 16000) : prompt8k;
    const stream = await server.allocate(`call-${codec}`, codec);
    const asterisk = await AsteriskRtpSide.open();
    try {
      const frames = recordFrames(stream, { echo: true });
      await asterisk.play(asterisk.packetize(sent, codec), stream.port);
      await sleep(300);
      // Inbound: what the pipeline got, at 16 kHz, against what was sent.
      const inbound16k = concat(frames.map((f) => f.samples));
      const refIn = codec === 'slin16' ? sent : resample(codec === 'ulaw' ? g711Reference(prompt8k) : prompt8k, 8000, 16000);
      // Outbound: what Asterisk received back (µ-law PT 0 for ulaw and slin16; PT 8 for alaw).
      const pt = codec === 'alaw' ? 8 : 0;
      assert.ok(asterisk.received.length > 100, 'replies received');
      assert.ok(asterisk.received.every((p) => p.payloadType === pt), `all replies PT ${pt}`);
      const back = asterisk.decodeReplies(pt);
      // Thresholds: µ-law alone scores ~38 dB on speech, A-law ~37 dB; slin16 is bit-exact. The round trip
      // adds a second G.711 pass and two resamplings (8→16→8 kHz); 32 dB is a clean copy, while one lost
      // frame or a byte-order slip scores below 15 dB. Judged per 100 ms block (see assertBlocksIntact).
      const minIn = codec === 'slin16' ? 90 : codec === 'alaw' ? 34 : 40;
      assertBlocksIntact(refIn, inbound16k, 16000, minIn, stream.counters.jitter, `${codec} inbound`);
      assertBlocksIntact(prompt8k, back, 8000, 32, stream.counters.jitter, `${codec} round trip`);
      assert.equal(Object.keys(stream.counters.rejected).length, 0, JSON.stringify(stream.counters.rejected));
    } finally {
      stream.close();
      asterisk.close();
    }
  });
}

test('rtp: 5% loss, 40 ms jitter and reordering are concealed without gaps', async () => {
  const prompt = loadPrompt('conf-onlyperson');
  const stream = await server.allocate('call-impaired', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  try {
    const frames = recordFrames(stream);
    const rand = prng(42);
    const lost = new Set<number>();
    const packets = asterisk.packetize(prompt, 'ulaw');
    for (let i = 2; i < packets.length - 2; i++) if (rand() < 0.05) lost.add(i);
    // Uniform 0–40 ms delay per packet: consecutive packets swap order whenever delays differ by > 20 ms.
    const delays = packets.map(() => rand() * 40);
    await asterisk.play(packets, stream.port, { loss: (i) => lost.has(i), delayMs: (i) => delays[i] });
    await sleep(300);
    const kinds = frames.map((f) => f.kind);
    const first = kinds.indexOf('audio');
    const last = kinds.lastIndexOf('audio');
    const inside = kinds.slice(first, last + 1);
    const jb = stream.counters.jitter;
    const detail = JSON.stringify(jb);
    assert.equal(inside.filter((k) => k === 'silence').length, 0, `no silence frames inside the speech: ${detail}`);
    assert.ok(jb.concealed >= lost.size * 0.8, `losses concealed (${lost.size} lost): ${detail}`);
    // Nearly every reordered packet is played in order, not dropped as late.
    assert.ok(jb.late <= 3, `late packets: ${detail}`);
    // The delay target grew to cover the jitter but not absurdly (≤ 3 × 40 ms).
    assert.ok(jb.targetDelayMs >= 15 && jb.targetDelayMs <= 120, `target delay: ${detail}`);
    // No gap longer than the concealment allows: compare quiet runs with the original's own pauses.
    const out16 = concat(frames.slice(first, last + 1).map((f) => f.samples));
    const out8 = resample(out16, 16000, 8000);
    const refQuiet = longestQuietRun(prompt, 64);
    const outQuiet = longestQuietRun(out8, 64);
    assert.ok(outQuiet <= refQuiet + 8 * 60, `longest quiet run ${outQuiet} vs original ${refQuiet} samples`);
    // Content: most voiced 100 ms blocks of the original are found intact (each at its own lag, since the
    // buffer stretches and shrinks). A scrambled or mis-ordered playout matches almost none.
    const ratio = blockMatchRatio(prompt, out8, 8000);
    assert.ok(ratio >= 0.6, `matched blocks ${ratio.toFixed(2)}: ${detail}`);
  } finally {
    stream.close();
    asterisk.close();
  }
});

test('rtp: a silent caller (no RTP) keeps frames flowing as silence and the call alive', async () => {
  const stream = await server.allocate('call-gap', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  try {
    const frames = recordFrames(stream);
    const tone = new Int16Array(8000).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    const packets = asterisk.packetize(tone, 'ulaw');
    await asterisk.play(packets.slice(0, 25), stream.port);
    const before = frames.length;
    await sleep(1000); // Asterisk sends nothing while the caller is quiet
    const during = frames.slice(before);
    assert.ok(during.length >= 40, `frames kept coming during the gap (${during.length})`);
    assert.ok(during.slice(5).every((f) => f.kind === 'silence'), 'gap frames are silence');
    assert.equal(stream.closed, false);
    const mark = frames.length;
    await asterisk.play(packets.slice(25), stream.port);
    await sleep(100);
    assert.ok(frames.slice(mark).some((f) => f.kind === 'audio'), 'audio resumes after the gap');
    assert.equal(stream.counters.jitter.late, 0);
  } finally {
    stream.close();
    asterisk.close();
  }
});

test('rtp: packets from a second source are rejected after the latch; header variants parse', async () => {
  const stream = await server.allocate('call-latch', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  const intruder = await AsteriskRtpSide.open();
  try {
    recordFrames(stream);
    const tone = new Int16Array(1600).fill(4000);
    const [p0, p1, p2, p3] = asterisk.packetize(tone, 'ulaw');
    asterisk.socket.send(p0, stream.port, '127.0.0.1');
    await until(() => stream.counters.packetsIn === 1, 2000, 'first packet');
    intruder.socket.send(intruder.packetize(tone, 'ulaw')[0], stream.port, '127.0.0.1');
    // Same audio with 2 CSRCs, a 1-word header extension and 3 bytes of padding: payload must be found.
    const fancy = Buffer.concat([Buffer.from(p1.subarray(0, 12)), Buffer.alloc(8), Buffer.from([0xbe, 0xde, 0, 1, 1, 2, 3, 4]), p1.subarray(12), Buffer.from([0, 0, 3])]);
    fancy[0] = 0x80 | 0x20 | 0x10 | 2;
    asterisk.socket.send(fancy, stream.port, '127.0.0.1');
    const truncated = Buffer.from(p2.subarray(0, 14));
    truncated[0] = 0x80 | 4; // claims 4 CSRCs it does not carry
    asterisk.socket.send(truncated, stream.port, '127.0.0.1');
    const v1 = Buffer.from(p3);
    v1[0] = 0x40;
    asterisk.socket.send(v1, stream.port, '127.0.0.1');
    asterisk.socket.send(Buffer.from([0x80, 0x00]), stream.port, '127.0.0.1');
    await until(() => stream.counters.rejected.too_short === 1, 2000, 'rejections');
    assert.equal(stream.counters.rejected.unknown_source, 1);
    assert.equal(stream.counters.rejected.truncated_csrc, 1);
    assert.equal(stream.counters.rejected.bad_version, 1);
    assert.equal(stream.counters.packetsIn, 2, 'the plain and the CSRC/extension/padding packets were accepted');
    assert.deepEqual(stream.remote, { address: '127.0.0.1', port: asterisk.port });
    // Replies go to the latched source only.
    await until(() => asterisk.received.length > 3, 2000, 'replies');
    assert.equal(intruder.received.length, 0);
  } finally {
    stream.close();
    asterisk.close();
    intruder.close();
  }
});

interface PacingRun {
  /** |interval − 20 ms| between consecutive packets, per packet pair. */
  deviations: number[];
  /** Mean interval per pacer tick (a tick skipped after a stall spans two frames of RTP time). */
  meanMs: number;
  /**
   * How long each side was held up by the OS, not by its own work: the engine thread's time runnable but not
   * running (the kernel's run-queue wait, from schedstat), the receiver process's worst self-measured stall.
   */
  engineRunQueueMs: number;
  sinkStallMs: number;
}

/** Milliseconds this process's main thread has spent runnable but waiting for a CPU (Linux schedstat). */
function runQueueWaitMs(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
  return Number(fields[1]) / 1e6;
}

/** Plays 3.6 s of tone to a receiver in its own process and checks what holds under any CPU load. */
async function measurePacing(): Promise<PacingRun> {
  const stream = await server.allocate('call-pace', 'ulaw');
  const sink = await startTimingSink(180);
  try {
    stream.setRemote('127.0.0.1', sink.port);
    const waitBefore = runQueueWaitMs();
    stream.write(new Int16Array(16000 * 4).map((_, i) => Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / 16000))), 16000);
    const rec = await sink.record;
    const engineRunQueueMs = runQueueWaitMs() - waitBefore;
    const at = rec.times.slice(10);
    const ts = rec.timestamps.slice(10);
    const seq = rec.sequences.slice(10);
    // One packet per tick, never two: the RTP timestamp is the tick's, so it steps by exactly one frame
    // (more when the pacer skipped ticks after a stall instead of bursting), and sequence by one.
    for (let i = 1; i < at.length; i++) {
      const step = (ts[i] - ts[i - 1]) >>> 0;
      assert.ok(step > 0 && step % 160 === 0 && step < 0x8000_0000, `timestamp step ${step} at packet ${i}`);
      assert.equal((seq[i] - seq[i - 1] + 65536) % 65536, 1, `sequence step at packet ${i}`);
    }
    const ticks = ((ts[ts.length - 1] - ts[0]) >>> 0) / 160;
    return {
      deviations: at.slice(1).map((t, i) => Math.abs(t - at[i] - 20)),
      meanMs: (at[at.length - 1] - at[0]) / ticks,
      engineRunQueueMs,
      sinkStallMs: rec.selfDelayMaxMs,
    };
  } finally {
    stream.close();
    sink.kill();
  }
}

/*
 * Wire facts behind the bounds. Asterisk's own RTP has a median spacing of 20.0 ms (p95 ≤ 20.25 ms); its
 * mixing bridge reads each channel's buffered audio once per 20 ms interval, so a packet up to one interval
 * late is still played (a frame of slack builds up), while drift is not absorbed: the buffer grows until it
 * is flushed (beyond 4 intervals), an audible cut. So there must never be drift, and the engine's own
 * precision (spin-waited ticks, sends inside the tick) must give a median within 0.5 ms and p99 ≤ 2 ms.
 * A userspace receiver cannot tell the engine's lateness from the OS not running one of the two processes
 * on a loaded machine. The kernel can: schedstat's run-queue time is how long the engine thread was runnable
 * but not running, which the engine's own work never adds to, and the receiver reports its own worst stall.
 * So every run must keep p99 within 2 ms plus those two (an OS stall of s ms moves an arrival by at most s):
 * lateness the engine causes itself (sends deferred behind other work, timers re-armed per call, bursts)
 * counts in full. A run where neither side was held up over 1 ms must also meet the strict bounds; up to
 * three runs are tried for one, each of them checked.
 */
test('rtp: pacing on the wire is 20 ms with p99 deviation within 2 ms', async (t) => {
  const disturbed: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const run = await measurePacing();
    const p50 = percentile(run.deviations, 50);
    const p99 = percentile(run.deviations, 99);
    const detail = `run ${JSON.stringify({ meanMs: run.meanMs, engineRunQueueMs: run.engineRunQueueMs, sinkStallMs: run.sinkStallMs, p50, p99 })}`;
    assert.ok(Math.abs(run.meanMs - 20) < 0.2, `mean interval ${run.meanMs.toFixed(3)} ms: ${detail}`);
    assert.ok(p99 <= 2 + run.engineRunQueueMs + run.sinkStallMs, `p99 deviation beyond what the OS's stalls of either side explain: ${detail}`);
    if (run.engineRunQueueMs <= 1 && run.sinkStallMs <= 1) {
      assert.ok(p50 <= 0.5, `median deviation on an undisturbed run: ${detail}`);
      assert.ok(p99 <= 2, `p99 deviation on an undisturbed run: ${detail}`);
      return;
    }
    disturbed.push(`engine waited ${run.engineRunQueueMs.toFixed(1)} ms for a CPU, receiver stalled ${run.sinkStallMs.toFixed(1)} ms, p99 ${p99.toFixed(2)} ms`);
  }
  t.diagnostic(`no undisturbed run; every run within its OS allowance (${disturbed.join('; ')})`);
});

test('rtp: sequence steps by 1 and timestamps by 160 on the wire', async () => {
  const stream = await server.allocate('call-seq', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  try {
    stream.setRemote('127.0.0.1', asterisk.port);
    stream.write(new Int16Array(16000).fill(3000), 16000);
    await until(() => asterisk.received.length > 30, 3000, 'packets');
    const rx = asterisk.received;
    for (let i = 1; i < rx.length; i++) {
      assert.equal((rx[i].sequence - rx[i - 1].sequence + 65536) % 65536, 1);
      assert.equal(((rx[i].timestamp - rx[i - 1].timestamp) >>> 0) % 160, 0);
    }
    assert.ok(rx.every((p) => p.payload.length === 160 && p.payloadType === 0));
  } finally {
    stream.close();
    asterisk.close();
  }
});

test('rtp: flush() silences the wire within one frame and reports what was heard', async () => {
  const stream = await server.allocate('call-flush', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  try {
    stream.setRemote('127.0.0.1', asterisk.port);
    const tone = new Int16Array(16000 * 3).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 500 * i) / 16000)));
    const start = stream.writtenSamples;
    const end = stream.write(tone, 16000);
    assert.equal(end - start, tone.length);
    await sleep(600);
    const flushedAt = performance.now();
    const result = stream.flush();
    await sleep(200);
    const after = asterisk.received.filter((p) => p.at > flushedAt);
    const firstQuiet = after.findIndex(isSilence);
    assert.ok(firstQuiet >= 0 && firstQuiet <= 1, `audio packets after flush: ${firstQuiet}`);
    assert.ok(after[firstQuiet].at - flushedAt <= 20 + 3, 'silence within one frame');
    assert.ok(after.slice(firstQuiet).every(isSilence), 'nothing after the flush');
    const heardPackets = asterisk.received.filter((p) => p.at <= flushedAt && !isSilence(p)).length;
    // playedSamples counts what went on the wire before the flush (16 kHz units, 320 per packet).
    assert.ok(Math.abs(result.playedSamples - heardPackets * 320) <= 320, `played ${result.playedSamples} vs ${heardPackets} packets`);
    assert.equal(result.playedSamples + result.discardedSamples, tone.length);
    assert.equal(stream.queuedSamples, 0);
  } finally {
    stream.close();
    asterisk.close();
  }
});

test('rtp: marks fire when playback passes them; DTMF end events are reported once', async () => {
  const stream = await server.allocate('call-mark', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  try {
    const marks: Array<[string, boolean, number]> = [];
    stream.on('mark', (id, reached) => marks.push([id, reached, stream.playedSamples]));
    const digits: string[] = [];
    stream.on('dtmf', (d) => digits.push(d));
    stream.setRemote('127.0.0.1', asterisk.port);
    stream.write(new Int16Array(3200).fill(1000), 16000);
    stream.mark('a');
    stream.write(new Int16Array(3200).fill(1000), 16000);
    stream.mark('b');
    await until(() => marks.length === 1, 2000, 'mark a');
    assert.deepEqual(marks[0].slice(0, 2), ['a', true]);
    assert.ok(marks[0][2] >= 3200);
    stream.flush();
    assert.deepEqual(marks[1].slice(0, 2), ['b', false]);
    // RFC 4733: digit 5, end bit, sent three times with one timestamp.
    const ev = Buffer.alloc(16);
    ev[0] = 0x80;
    ev[1] = 101;
    ev.writeUInt32BE(9999, 4);
    ev.writeUInt32BE(1, 8);
    ev[12] = 5;
    ev[13] = 0x80 | 10;
    for (let i = 0; i < 3; i++) {
      ev.writeUInt16BE(100 + i, 2);
      asterisk.socket.send(ev, stream.port, '127.0.0.1');
    }
    await until(() => stream.counters.packetsIn === 0 && digits.length === 1, 2000, 'dtmf');
    await sleep(50);
    assert.deepEqual(digits, ['5']);
  } finally {
    stream.close();
    asterisk.close();
  }
});

test('rtp: agent audio starting from silence leaves at once, not on the next tick, and the timeline stays in line', async () => {
  const stream = await server.allocate('call-at-once', 'ulaw');
  const asterisk = await AsteriskRtpSide.open();
  try {
    stream.setRemote('127.0.0.1', asterisk.port);
    await until(() => asterisk.received.length >= 5, 2000, 'silence packets');
    const tone = new Int16Array(16000 / 10).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 500 * i) / 16000)));
    const waits: number[] = [];
    for (let reply = 0; reply < 8; reply++) {
      // Written well before the next tick (12–18 ms ahead of it): on the tick it would wait that long.
      await until(() => pacer.msUntilNextTick > 12 && pacer.msUntilNextTick < 18, 1000, 'a point between ticks');
      const writtenAt = performance.now();
      stream.write(tone, 16000);
      await until(() => asterisk.received.some((p) => p.at >= writtenAt && !isSilence(p)), 1000, 'the reply on the wire');
      waits.push(asterisk.received.find((p) => p.at >= writtenAt && !isSilence(p))!.at - writtenAt);
      await sleep(400 + reply * 7); // the 100 ms reply, then a quiet stretch of varying length
    }
    assert.ok(percentile(waits, 50) < 4, `first reply frame after the write: ${waits.map((w) => w.toFixed(1)).join(', ')} ms`);
    // Every frame has its place: sequence +1, timestamps never repeat, and the wire keeps to the clock
    // (a stream that drifted a frame ahead per reply would be 160 ms ahead by now).
    const rx = asterisk.received;
    const offsets = rx.map((p) => ((p.timestamp - rx[0].timestamp) >>> 0) / 8 - (p.at - rx[0].at));
    for (let i = 1; i < rx.length; i++) {
      assert.equal((rx[i].sequence - rx[i - 1].sequence + 65536) % 65536, 1, `sequence at packet ${i}`);
      assert.ok(((rx[i].timestamp - rx[i - 1].timestamp) >>> 0) >= 160, `timestamp steps forward at packet ${i}`);
    }
    const audio = rx.filter((p) => !isSilence(p)).length;
    assert.equal(audio, 8 * 5, 'each reply is its five frames, none lost or repeated');
    const last = offsets.slice(-5);
    assert.ok(last.every((o) => Math.abs(o) < 10), `back in line with the clock after the replies: ${last.map((o) => o.toFixed(1)).join(', ')} ms ahead`);
  } finally {
    stream.close();
    asterisk.close();
  }
});
