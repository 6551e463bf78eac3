import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { Pacer } from '../../src/audio/pacer.ts';
import { connectMediaWebSocket, MediaWsServer } from '../../src/transport/websocket/ws-media-endpoint.ts';
import { parseControlEvent } from '../../src/transport/websocket/control-messages.ts';
import { AsteriskWsSide, connectAsteriskWsClient, startAsteriskWsServer } from './websocket-peer.ts';
import { assertBlocksIntact, concat, loadPrompt, recordFrames, resample, sleep, testLogger, until } from './helpers.ts';

const log = testLogger();
const pacer = new Pacer();
const server = new MediaWsServer({ log, host: '127.0.0.1', port: 0, pacer });
before(() => server.listen());
after(() => server.close());

test('websocket client mode (engine connects to /media/<id>): ulaw speech both ways, marks confirmed by Asterisk', async () => {
  const peer = new AsteriskWsSide('ulaw');
  const asterisk = await startAsteriskWsServer(peer);
  const stream = await connectMediaWebSocket({ url: asterisk.url, log, pacer });
  try {
    assert.equal(stream.info.channelId, peer.channelId);
    assert.equal(stream.wireFormat, 'ulaw');
    const prompt = loadPrompt('tt-weasels');
    const frames = recordFrames(stream, { echo: true });
    await peer.play(prompt);
    await sleep(300);
    const inbound = concat(frames.map((f) => f.samples));
    // Same bounds as RTP µ-law: one G.711 pass inbound, two plus 8↔16 kHz resampling round trip.
    assertBlocksIntact(resample(prompt, 8000, 16000), inbound, 16000, 30, stream.counters.jitter, 'inbound');
    assertBlocksIntact(prompt, peer.heard(), 8000, 30, stream.counters.jitter, 'round trip');
    // A mark is confirmed only when Asterisk's playback reaches it.
    const marks: Array<[string, boolean]> = [];
    stream.on('mark', (id, reached) => marks.push([id, reached]));
    stream.write(new Int16Array(3200).fill(2000), 16000);
    stream.mark('end-of-sentence');
    await until(() => marks.length === 1, 2000, 'mark');
    assert.deepEqual(marks[0], ['end-of-sentence', true]);
    assert.ok(peer.commands.some((c) => /^MARK_MEDIA m\d+$/.test(c)));
  } finally {
    stream.close();
    await asterisk.close();
  }
});

test('websocket server mode (Asterisk connects to us): slin16 speech both ways, JSON control messages', async () => {
  const peer = new AsteriskWsSide('slin16', true);
  const pending = server.expect(peer.channelId);
  await connectAsteriskWsClient(peer, server.port);
  const stream = await pending;
  try {
    const prompt = resample(loadPrompt('tt-weasels'), 8000, 16000);
    const frames = recordFrames(stream, { echo: true });
    const digits: string[] = [];
    stream.on('dtmf', (d) => digits.push(d));
    await peer.play(prompt);
    peer.send(JSON.stringify({ event: 'DTMF_END', channel_id: peer.channelId, digit: '#' }));
    await sleep(300);
    // slin16 needs no codec and no resampling: both ways every block must be bit-exact (≥ 90 dB: one wrong
    // LSB in a block scores ~100 dB, a byte-order or resampling slip below 40).
    assertBlocksIntact(prompt, concat(frames.map((f) => f.samples)), 16000, 90, stream.counters.jitter, 'slin16 inbound');
    assertBlocksIntact(prompt, peer.heard(), 16000, 90, stream.counters.jitter, 'slin16 round trip');
    assert.deepEqual(digits, ['#']);
  } finally {
    stream.close();
    peer.close();
  }
});

test('websocket: flush() sends FLUSH_MEDIA and the caller hears nothing more within one frame', async () => {
  const peer = new AsteriskWsSide('ulaw');
  const asterisk = await startAsteriskWsServer(peer);
  const stream = await connectMediaWebSocket({ url: asterisk.url, log, pacer });
  try {
    stream.write(new Int16Array(16000 * 3).fill(3000), 16000);
    await sleep(500);
    const t = performance.now();
    const result = stream.flush();
    await sleep(200);
    assert.ok(peer.commands.includes('FLUSH_MEDIA'));
    const afterFlush = peer.played.filter((p) => p.at > t);
    const firstSilent = afterFlush.findIndex((p) => p.silence);
    assert.ok(firstSilent >= 0 && firstSilent <= 1, `frames played after flush: ${firstSilent}`);
    assert.ok(afterFlush.slice(firstSilent).every((p) => p.silence));
    const heard = peer.played.filter((p) => p.at <= t && !p.silence).length;
    assert.ok(Math.abs(result.playedSamples / 320 - heard) <= 2, `played ${result.playedSamples / 320} frames, Asterisk played ${heard}`);
  } finally {
    stream.close();
    await asterisk.close();
  }
});

test('websocket: XOFF pauses sending, XON resumes; nothing is lost', async () => {
  const peer = new AsteriskWsSide('ulaw');
  const asterisk = await startAsteriskWsServer(peer);
  const stream = await connectMediaWebSocket({ url: asterisk.url, log, pacer });
  try {
    stream.write(new Int16Array(16000).fill(3000), 16000);
    await sleep(100);
    peer.send('MEDIA_XOFF');
    await sleep(60);
    const sentAtXoff = stream.counters.packetsOut;
    const queued = stream.queuedSamples;
    await sleep(200);
    assert.equal(stream.counters.packetsOut, sentAtXoff, 'no frames while XOFF');
    assert.equal(stream.queuedSamples, queued, 'the queue waits');
    peer.send('MEDIA_XON');
    await until(() => stream.queuedSamples === 0, 2000, 'drained after XON');
    assert.equal(stream.counters.packetsOut, 50);
  } finally {
    stream.close();
    await asterisk.close();
  }
});

test('websocket: refused without the media subprotocol, bad MEDIA_START, unknown channel', async () => {
  await assert.rejects(connectAsteriskWsClient(new AsteriskWsSide('ulaw'), server.port, 'other'));
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, 'media');
  await new Promise((r) => ws.once('open', r));
  ws.send(Buffer.alloc(160), { binary: true });
  await new Promise((r) => ws.once('close', r));
  assert.equal(server.counters.rejected.media_before_start, 1);
  const peer = new AsteriskWsSide('ulaw');
  const unknown = await connectAsteriskWsClient(peer, server.port);
  await new Promise((r) => unknown.once('close', r));
  peer.stop();
  assert.equal(server.counters.rejected.unknown_channel, 1);
});

test('websocket control messages: plain text and JSON forms parse as Asterisk writes them', () => {
  const start = parseControlEvent('MEDIA_START connection_id:abc channel:WebSocket/INCOMING/0x7f channel_id:1761.2 format:ulaw optimal_frame_size:160 ptime:20');
  assert.equal(start?.fields.channel, 'WebSocket/INCOMING/0x7f');
  assert.equal(start?.fields.optimal_frame_size, '160');
  assert.equal(parseControlEvent('MEDIA_MARK_PROCESSED m12')?.argument, 'm12');
  assert.equal(parseControlEvent('ERROR channel_id:1.2 error_text:FLUSH_MEDIA not supported in passthrough mode')?.fields.error_text, 'FLUSH_MEDIA not supported in passthrough mode');
  assert.equal(parseControlEvent('{"event":"MEDIA_MARK_PROCESSED","channel_id":"1","correlation_id":"m3"}')?.argument, 'm3');
  assert.equal(parseControlEvent('{"event":1}'), null);
  assert.equal(parseControlEvent('not an event'), null);
  assert.equal(parseControlEvent('{'), null);
});
