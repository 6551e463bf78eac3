// A peer that stops reading (Asterisk stalled): the kernel's socket buffers fill, then the engine's writes
// queue in the socket. Every frame that gets out must arrive intact and in order (the socket holds the
// engine's frame buffers while they wait), and the backlog must stay bounded: past a few seconds of audio
// the newest frames are dropped and counted, and sending resumes once the peer reads again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';
import type { PacerClock } from '../../src/audio/clock.ts';
import { Pacer } from '../../src/audio/pacer.ts';
import { readSlinLE } from '../../src/audio/pcm.ts';
import type { MediaStream } from '../../src/call/index.ts';
import { AudioSocketServer } from '../../src/transport/audiosocket/audiosocket-server.ts';
import { connectMediaWebSocket, MediaWsServer } from '../../src/transport/websocket/ws-media-endpoint.ts';
import { AsteriskAudioSocketSide } from './audiosocket-peer.ts';
import { testLogger, until } from './helpers.ts';

const log = testLogger();
const SAMPLES = 320; // 20 ms at 16 kHz (slin16 both ways: no resampling, so samples arrive bit-exact)
/**
 * Ticks at most: loopback lets the kernel take about 4 MiB (~6 500 slin16 frames) before writes wait in the
 * socket, and the 2 s backlog limit comes 100 frames after that.
 */
const MAX_FRAMES = 20_000;
const DROPS_WANTED = 50;

/** A pacer clock the test steps: one tick per `step()`, as fast as the sockets take the frames. */
class StepClock implements PacerClock {
  private t = 0;
  private timer: { fn: () => void; at: number } | null = null;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, delayMs: number): unknown {
    this.timer = { fn, at: this.t + delayMs };
    return this.timer;
  }
  clearTimer(handle: unknown): void {
    if (this.timer === handle) this.timer = null;
  }
  step(): void {
    const timer = this.timer;
    if (!timer) return;
    this.timer = null;
    this.t = timer.at;
    timer.fn();
  }
}

/** Frame `k`: its number in sample 0 and a body derived from it, so a frame overwritten in part or whole shows. */
function fillFrame(frame: Int16Array, k: number): void {
  frame[0] = k;
  for (let i = 1; i < frame.length; i++) frame[i] = (k * 7919 + i * 104729) & 0x7fff;
}

/** The frame number of an intact frame, or -1 if any sample differs from frame `samples[0]`'s pattern. */
function frameNumber(samples: Int16Array, expected: Int16Array): number {
  fillFrame(expected, samples[0]);
  for (let i = 0; i < samples.length; i++) if (samples[i] !== expected[i]) return -1;
  return samples[0];
}

/** Writes numbered frames from `first`, one per tick, until `done()` or `count` frames; returns the next number. */
async function play(stream: MediaStream, clock: StepClock, first: number, count: number, done: () => boolean = () => false): Promise<number> {
  const frame = new Int16Array(SAMPLES);
  let k = first;
  while (k < first + count && !done()) {
    fillFrame(frame, k++);
    stream.write(frame, 16000);
    clock.step();
    // Let the socket's completions run now and then, as between real ticks.
    if (k % 64 === 0) await yieldToIo();
  }
  return k;
}

/**
 * Drives the stalled-peer scenario against one stream: `pause`/`resume` stop and restart the peer's reading,
 * `payloads()` are the audio payloads it has received so far, in order.
 */
async function checkStalledPeer(stream: MediaStream, clock: StepClock, peer: { pause(): void; resume(): void; payloads(): Uint8Array[] }): Promise<void> {
  const dropped = (): number => stream.counters.outboundBackpressureFrames ?? 0;
  peer.pause();
  const played = await play(stream, clock, 0, MAX_FRAMES, () => dropped() >= DROPS_WANTED);
  assert.ok(dropped() >= DROPS_WANTED, `no frame dropped after ${played} frames to a peer that does not read: the backlog is unbounded`);
  const sent = stream.counters.packetsOut;
  assert.equal(sent + dropped(), played, 'every frame is either sent or counted as dropped');
  peer.resume();
  await until(() => peer.payloads().length >= sent, 10_000, `${sent} frames at the peer`);
  // Reading again: the backlog drains and nothing more is dropped.
  const dropsWhileStalled = dropped();
  const end = await play(stream, clock, played, 100);
  await until(() => peer.payloads().length >= sent + 100, 5000, 'frames after the peer resumed');
  assert.equal(dropped(), dropsWhileStalled, 'frames dropped after the peer resumed reading');

  const samples = new Int16Array(SAMPLES);
  const expected = new Int16Array(SAMPLES);
  const numbers = peer.payloads().map((p) => {
    assert.equal(p.length, SAMPLES * 2);
    readSlinLE(p, samples);
    return frameNumber(samples, expected);
  });
  const corrupt = numbers.filter((n) => n < 0).length;
  assert.equal(corrupt, 0, `${corrupt} of ${numbers.length} frames arrived corrupted`);
  // In order with no repeats, and the only frames missing are the ones counted as dropped.
  const disorder = numbers.findIndex((n, i) => i > 0 && n <= numbers[i - 1]);
  assert.equal(disorder, -1, `frame ${numbers[disorder]} arrived after frame ${numbers[disorder - 1]}`);
  assert.equal(numbers.length, end - dropped(), `frames received of ${end} played, ${dropped()} dropped`);
  assert.equal(numbers.at(-1), end - 1);
}

test('audiosocket: a peer that stops reading gets every sent frame intact and in order; the backlog is bounded and drops counted', async () => {
  const clock = new StepClock();
  const server = new AudioSocketServer({ log, host: '127.0.0.1', port: 0, pacer: new Pacer({ clock }) });
  await server.listen();
  const uuid = randomUUID();
  const pending = server.expect(uuid, 'slin16');
  const asterisk = await AsteriskAudioSocketSide.connect(server.port, { uuid });
  const stream = await pending;
  try {
    await checkStalledPeer(stream, clock, {
      pause: () => asterisk.socket.pause(),
      resume: () => asterisk.socket.resume(),
      payloads: () => asterisk.received.filter((f) => f.kind === 0x12).map((f) => f.payload),
    });
  } finally {
    stream.close();
    asterisk.close();
    await server.close();
  }
});

/** chan_websocket's side, reduced to what this test needs: MEDIA_START, then it records binary messages. */
function asteriskWsSide(ws: WebSocket, channelId: string): { pause(): void; resume(): void; payloads(): Uint8Array[] } {
  const received: Uint8Array[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) received.push(data as Buffer);
  });
  ws.send(`MEDIA_START connection_id:${randomUUID()} channel:WebSocket/test/0x1 channel_id:${channelId} format:slin16 optimal_frame_size:640 ptime:20`);
  return { pause: () => ws.pause(), resume: () => ws.resume(), payloads: () => received };
}

test('websocket media, Asterisk connecting to the engine (unmasked frames): stalled peer, frames intact, backlog bounded', async () => {
  const clock = new StepClock();
  const server = new MediaWsServer({ log, host: '127.0.0.1', port: 0, pacer: new Pacer({ clock }) });
  await server.listen();
  const channelId = `${Date.now()}.1`;
  const pending = server.expect(channelId);
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, 'media');
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const peer = asteriskWsSide(ws, channelId);
  const stream = await pending;
  try {
    await checkStalledPeer(stream, clock, peer);
  } finally {
    stream.close();
    ws.terminate();
    await server.close();
  }
});

test('websocket media, engine connecting to Asterisk: stalled peer, frames intact, backlog bounded', async () => {
  const clock = new StepClock();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has('media') ? 'media' : false) });
  await new Promise<void>((r) => wss.once('listening', r));
  const connected = new Promise<WebSocket>((r) => wss.once('connection', r));
  const channelId = `${Date.now()}.2`;
  const streamPending = connectMediaWebSocket({ url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/media/x`, log, pacer: new Pacer({ clock }) });
  const peer = asteriskWsSide(await connected, channelId);
  const stream = await streamPending;
  try {
    await checkStalledPeer(stream, clock, peer);
  } finally {
    stream.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  }
});
