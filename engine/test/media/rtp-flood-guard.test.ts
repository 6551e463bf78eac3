import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mediaConfigSchema } from '@ai-agent/common';
import { EngineMetrics } from '../../src/control/metrics/engine-metrics.ts';
import { MediaCounterTotals } from '../../src/control/metrics/media-totals.ts';
import { createMediaTransports } from '../../src/transport/create-media-transports.ts';
import { parseExposition, valueOf } from '../control/prometheus-text.ts';
import { AsteriskRtpSide } from './rtp-peer.ts';
import { blockMatches, concat, loadPrompt, recordFrames, resample, sleep, testLogger, until } from './helpers.ts';

// The production wiring with the shipped defaults: what a call gets unless the operator changed the guard.
const transports = await createMediaTransports(
  mediaConfigSchema.parse({ rtp: { port_min: 0, port_max: 0 }, audiosocket: { port: 0 }, websocket: { port: 0 } }),
  testLogger(),
  { websocketListener: false },
  {},
);
after(() => transports.close());
const totals = new MediaCounterTotals();
const metrics = new EngineMetrics({ media: () => totals.snapshot(), mediaBursts: () => transports.rtp.counters });

async function scrape(): Promise<ReturnType<typeof parseExposition>> {
  return parseExposition(await metrics.render());
}

test('rtp: a burst released by a stalled sender reaches the caller audio intact, counted as a burst', async () => {
  const PACKETS = 65;
  const prompt = loadPrompt('tt-weasels').subarray(0, PACKETS * 160);
  const stream = await transports.rtp.allocate('call-burst', 'ulaw');
  const untrack = totals.track(stream.counters);
  const asterisk = await AsteriskRtpSide.open();
  try {
    const frames = recordFrames(stream);
    const packets = asterisk.packetize(prompt, 'ulaw');
    assert.equal(packets.length, PACKETS);
    // 25 packets on Asterisk's 20 ms pace, then it stalls for 200 ms and releases the 10 packets it held
    // back in one go (the last of them on time), then carries on at its pace.
    await asterisk.play(packets.slice(0, 25), stream.port);
    await sleep(200);
    for (const p of packets.slice(25, 35)) asterisk.socket.send(p, stream.port, '127.0.0.1');
    await sleep(20);
    await asterisk.play(packets.slice(35), stream.port);
    await until(() => frames.length > 10 && frames.slice(-10).every((f) => f.kind === 'silence'), 5000, 'playout drained');

    const detail = JSON.stringify({ rejected: stream.counters.rejected, jitter: stream.counters.jitter });
    assert.deepEqual(stream.counters.rejected, {}, `nothing rejected: ${detail}`);
    // Every packet became exactly one frame of caller audio: none lost, none replaced by concealment.
    const audio = frames.filter((f) => f.kind === 'audio');
    assert.equal(audio.length, PACKETS, `audio frames: ${detail}`);
    assert.equal(stream.counters.jitter.concealed, 0, `no loss concealed: ${detail}`);
    // Content: the audio frames joined up are the prompt. Where the stall's concealment frames are cut out,
    // the resampler's filter has carried a few samples of them into the first burst frame: the one block
    // spanning that seam may miss the bar, no other.
    const heard = resample(concat(audio.map((f) => f.samples)), 16000, 8000);
    const { voiced, matched } = blockMatches(prompt, heard, 8000, 100, 25);
    assert.ok(voiced >= 5 && matched >= voiced - 1, `voiced blocks intact: ${matched}/${voiced}`);

    assert.ok(transports.rtp.counters.bursts >= 1, `burst counted: ${JSON.stringify(transports.rtp.counters)}`);
    assert.ok(transports.rtp.counters.burstPackets >= 8, `burst packets counted: ${JSON.stringify(transports.rtp.counters)}`);
    const exposition = await scrape();
    assert.ok((valueOf(exposition, 'ai_agent_media_bursts_absorbed_total') ?? 0) >= 1);
    assert.ok((valueOf(exposition, 'ai_agent_media_burst_packets_total') ?? 0) >= 8);
    assert.equal(valueOf(exposition, 'ai_agent_media_rejected_total', { source: 'stream', reason: 'rate_limited' }), undefined);
  } finally {
    stream.close();
    untrack();
    asterisk.close();
  }
});

test('rtp: a sustained flood (5000 packets/s) is rejected and counted beyond the jitter depth plus 100 packets/s', async () => {
  const stream = await transports.rtp.allocate('call-flood', 'ulaw');
  const untrack = totals.track(stream.counters);
  const attacker = await AsteriskRtpSide.open();
  try {
    recordFrames(stream);
    const packets = attacker.packetize(new Int16Array(160 * 100).fill(2000), 'ulaw');
    const PER_TICK = 100;
    const TICKS = 50;
    const start = performance.now();
    let acceptedAtHalf = 0;
    let halfAt = 0;
    for (let t = 0; t < TICKS; t++) {
      for (let i = 0; i < PER_TICK; i++) attacker.socket.send(packets[(t * PER_TICK + i) % packets.length], stream.port, '127.0.0.1');
      const due = start + (t + 1) * 20 - performance.now();
      await sleep(Math.max(0, due));
      if (t === TICKS / 2 - 1) {
        acceptedAtHalf = stream.counters.packetsIn;
        halfAt = performance.now();
      }
    }
    const sent = PER_TICK * TICKS;
    // The kernel may drop some of the flood before the engine reads it; most of it reaches the guard.
    await until(() => stream.counters.packetsIn + (stream.counters.rejected.rate_limited ?? 0) >= sent * 0.5, 3000, 'flood handled');
    const elapsedMs = performance.now() - start;
    const accepted = stream.counters.packetsIn;
    const limited = stream.counters.rejected.rate_limited ?? 0;
    const detail = JSON.stringify({ accepted, limited, elapsedMs, acceptedAtHalf });
    // At most the jitter buffer's depth (64 packets) once, then 2 packets per 20 ms tick elapsed.
    assert.ok(accepted <= 64 + 2 * Math.ceil(elapsedMs / 20 + 2), `accepted within the bucket: ${detail}`);
    // Once the depth is spent, the sustained rate holds: about 100 packets/s in the second half.
    const secondHalfMs = performance.now() - halfAt;
    assert.ok(accepted - acceptedAtHalf <= 2 * Math.ceil(secondHalfMs / 20 + 2), `sustained rate: ${detail}`);
    assert.ok(limited >= sent * 0.5 - accepted, `flood rejected: ${detail}`);
    assert.equal(stream.closed, false);
    const exposition = await scrape();
    assert.ok((valueOf(exposition, 'ai_agent_media_rejected_total', { source: 'stream', reason: 'rate_limited' }) ?? 0) >= limited);
  } finally {
    stream.close();
    untrack();
    attacker.close();
  }
});
