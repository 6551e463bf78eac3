import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { WebSocket } from 'ws';
import { Pacer } from '../../src/audio/pacer.ts';
import { RtpMediaServer } from '../../src/transport/rtp/rtp-server.ts';
import { AudioSocketServer } from '../../src/transport/audiosocket/audiosocket-server.ts';
import { MediaWsServer } from '../../src/transport/websocket/ws-media-endpoint.ts';
import type { InboundFrame, MediaStream } from '../../src/call/index.ts';
import { AsteriskRtpSide } from './rtp-peer.ts';
import { AsteriskAudioSocketSide } from './audiosocket-peer.ts';
import { AsteriskWsSide, connectAsteriskWsClient } from './websocket-peer.ts';
import { assertBlocksIntact, concat, loadPrompt, prng, recordFrames, resample, sleep, testLogger, until } from './helpers.ts';

const COUNT = 100_000;
const log = testLogger();
const rand = prng(1234);
const byte = () => Math.floor(rand() * 256);

/**
 * 1 MiB of seeded noise. Random inputs are windows of it at random offsets: as random as bytes drawn one by
 * one, but without a PRNG call per byte, which made generating the inputs cost more CPU than handling them
 * (this file runs beside the timing-sensitive ones). Windows are never written to.
 */
const NOISE = Buffer.alloc(1 << 20);
for (let i = 0; i < NOISE.length; i += 4) NOISE.writeUInt32LE(Math.floor(rand() * 0x1_0000_0000), i);
function noise(length: number): Buffer {
  const at = Math.floor(rand() * (NOISE.length - length));
  return NOISE.subarray(at, at + length);
}

/** A valid-looking packet with a few random bytes changed, or pure noise, or truncated. */
function mutate(valid: Buffer): Buffer {
  const r = rand();
  if (r < 0.2) return noise(Math.floor(rand() * 200));
  const b = Buffer.from(valid.subarray(0, r < 0.3 ? Math.floor(rand() * valid.length) : valid.length));
  const flips = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < flips && b.length > 0; i++) b[Math.floor(rand() * Math.min(b.length, rand() < 0.7 ? 16 : b.length))] = byte();
  return b;
}

/**
 * The victim heard all of its speech: no silence frames inside it, and its voiced 100 ms blocks found at
 * ≥ 20 dB (the attacker shares this process, so the victim's own sender jitters and the jitter buffer may
 * conceal, stretch or drop a frame: blocks are matched each at its own lag, see assertBlocksIntact).
 */
async function assertIntact(prompt: Int16Array, frames: InboundFrame[], victim: MediaStream): Promise<void> {
  // Under CPU contention the victim's packets may arrive in a late burst; the jitter buffer then plays the
  // backlog one frame per tick. Wait until it has (10 frames of silence in a row), then judge.
  await until(() => frames.length > 10 && frames.slice(-10).every((f) => f.kind === 'silence'), 10_000, 'victim playout drained');
  const kinds = frames.map((f) => f.kind);
  const inside = kinds.slice(kinds.indexOf('audio'), kinds.lastIndexOf('audio') + 1);
  assert.equal(inside.filter((k) => k === 'silence').length, 0, 'no silence inside the victim speech');
  const heard = resample(concat(frames.map((f) => f.samples)), 16000, 8000);
  assertBlocksIntact(prompt, heard, 8000, 20, victim.counters.jitter, 'victim');
}

test('fuzz: 100 000 hostile RTP packets to one call leave a concurrent call intact', async () => {
  const pacer = new Pacer();
  // The target's flood guard is lifted so every packet reaches the parser and the jitter buffer.
  const server = new RtpMediaServer({ log, host: '127.0.0.1', portMin: 0, portMax: 0, pacer, stream: { maxPacketsPerTick: 1_000_000 } });
  const victim = await server.allocate('victim', 'ulaw');
  const target = await server.allocate('target', 'ulaw');
  const caller = await AsteriskRtpSide.open();
  const attacker = await AsteriskRtpSide.open();
  const stranger = await AsteriskRtpSide.open();
  try {
    const frames = recordFrames(victim);
    const prompt = loadPrompt('tt-weasels');
    const valid = attacker.packetize(new Int16Array(160 * 50).fill(1000), 'ulaw');
    const playing = caller.play(caller.packetize(prompt, 'ulaw'), victim.port);
    let sent = 0;
    while (sent < COUNT) {
      for (let i = 0; i < 40; i++, sent++) {
        const pkt = mutate(valid[sent % valid.length]);
        attacker.socket.send(pkt, target.port, '127.0.0.1');
        if (i % 20 === 0) stranger.socket.send(pkt, victim.port, '127.0.0.1');
      }
      await new Promise((r) => setImmediate(r));
    }
    await playing;
    await sleep(300);
    const seen = target.counters.packetsIn + Object.values(target.counters.rejected).reduce((a, b) => a + b, 0);
    assert.ok(seen > COUNT / 2, `target processed ${seen} packets`);
    assert.equal(target.closed, false);
    await assertIntact(prompt, frames, victim);
  } finally {
    server.close();
    caller.close();
    attacker.close();
    stranger.close();
  }
});

test('fuzz: 100 000 hostile AudioSocket frames and garbage connections leave a concurrent call intact', async () => {
  const pacer = new Pacer();
  // Garbage that opens like a frame header and stops waits for the UUID timeout: 1 s instead of 5 keeps the
  // file's wall time down without changing what is tested (every garbage connection is closed).
  const server = new AudioSocketServer({ log, host: '127.0.0.1', port: 0, pacer, uuidTimeoutMs: 1000, stream: { maxFramesPerTick: 1_000_000 } });
  await server.listen();
  const uuid = randomUUID();
  const pending = server.expect(uuid);
  const caller = await AsteriskAudioSocketSide.connect(server.port, { uuid });
  const victim = await pending;
  try {
    const frames = recordFrames(victim);
    const prompt = loadPrompt('tt-weasels');
    const playing = caller.play(prompt, 8000);
    // One connection that got past the UUID (a call of its own), then sends 100 000 frames of every kind except
    // hangup, with random lengths and contents.
    const hostileUuid = randomUUID();
    const hostileStream = server.expect(hostileUuid);
    const hostile = await AsteriskAudioSocketSide.connect(server.port, { uuid: hostileUuid });
    await hostileStream;
    const kinds = [0x10, 0x10, 0x10, 0x12, 0x03, 0xff, 0x01];
    let sent = 0;
    while (sent < COUNT && !hostile.closed) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 1000; i++, sent++) {
        const kind = kinds[Math.floor(rand() * kinds.length)];
        const len = kind === 0x03 ? Math.floor(rand() * 3) : Math.floor(rand() * 700);
        batch.push(hostile.frame(kind, noise(len)));
      }
      hostile.socket.write(Buffer.concat(batch));
      await new Promise((r) => setImmediate(r));
    }
    // And 200 connections of pure garbage, each of which must be closed.
    const garbage = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const s = connect({ port: server.port, host: '127.0.0.1' });
        s.on('error', () => {});
        await new Promise((r) => s.once('connect', r));
        s.write(noise(1 + Math.floor(rand() * 100)));
        return new Promise<void>((r) => s.once('close', () => r()));
      }),
    );
    await playing;
    await sleep(300);
    assert.equal(sent, COUNT);
    assert.equal(garbage.length, 200);
    await assertIntact(prompt, frames, victim);
    assert.equal(victim.closed, false);
    hostile.close();
  } finally {
    caller.close();
    await server.close();
  }
});

test('fuzz: 100 000 hostile WebSocket media messages leave a concurrent call intact', async () => {
  const pacer = new Pacer();
  const server = new MediaWsServer({ log, host: '127.0.0.1', port: 0, pacer, maxMessagesPerTick: 400 });
  await server.listen();
  const peer = new AsteriskWsSide('ulaw');
  const pending = server.expect(peer.channelId);
  await connectAsteriskWsClient(peer, server.port);
  const victim = await pending;
  const hostilePeer = new AsteriskWsSide('ulaw');
  const hostileStream = server.expect(hostilePeer.channelId);
  const hostileWs = await connectAsteriskWsClient(hostilePeer, server.port);
  const target = await hostileStream;
  try {
    const frames = recordFrames(victim);
    const prompt = loadPrompt('tt-weasels');
    const playing = peer.play(prompt);
    const texts = ['MEDIA_XON', 'MEDIA_MARK_PROCESSED x', 'DTMF_END digit:5', 'STATUS queue_length:3', '{"event":"DTMF_END","digit":"1"}', 'MEDIA_START format:ulaw'];
    let sent = 0;
    while (sent < COUNT && hostileWs.readyState === WebSocket.OPEN) {
      for (let i = 0; i < 500; i++, sent++) {
        if (rand() < 0.5) hostileWs.send(noise(Math.floor(rand() * 400)), { binary: true });
        else hostileWs.send(mutate(Buffer.from(texts[Math.floor(rand() * texts.length)])).toString('utf8'));
      }
      await new Promise((r) => setImmediate(r));
    }
    await playing;
    const handledNow = () => target.counters.packetsIn + target.counters.eventsIn + Object.values(target.counters.rejected).reduce((a, b) => a + b, 0);
    await until(() => handledNow() >= COUNT, 20000, 'hostile messages handled');
    assert.equal(sent, COUNT);
    const handled = target.counters.packetsIn + target.counters.eventsIn + Object.values(target.counters.rejected).reduce((a, b) => a + b, 0);
    assert.ok(handled > COUNT / 4, `target handled ${handled}`);
    await assertIntact(prompt, frames, victim);
    assert.equal(victim.closed, false);
  } finally {
    peer.close();
    hostilePeer.close();
    await server.close();
  }
});
