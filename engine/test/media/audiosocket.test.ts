import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { sourceAllowlist } from '@ai-agent/common';
import { Pacer } from '../../src/audio/pacer.ts';
import { AudioSocketServer } from '../../src/transport/audiosocket/audiosocket-server.ts';
import { AsteriskAudioSocketSide } from './audiosocket-peer.ts';
import { assertBlocksIntact, concat, loadPrompt, recordFrames, resample, sleep, testLogger, until } from './helpers.ts';

const pacer = new Pacer();
const server = new AudioSocketServer({ log: testLogger(), host: '127.0.0.1', port: 0, pacer });
before(() => server.listen());
after(() => server.close());

for (const rate of [8000, 16000] as const) {
  test(`audiosocket slin ${rate / 1000} kHz: real speech both ways`, async () => {
    const prompt8k = loadPrompt('tt-weasels');
    const sent = rate === 8000 ? prompt8k : resample(prompt8k, 8000, 16000);
    const uuid = randomUUID();
    const pending = server.expect(uuid, rate === 8000 ? 'slin' : 'slin16');
    const asterisk = await AsteriskAudioSocketSide.connect(server.port, { uuid });
    const stream = await pending;
    try {
      assert.equal(stream.uuid, uuid);
      const frames = recordFrames(stream, { echo: true });
      await asterisk.play(sent, rate);
      await sleep(300);
      const inbound = concat(frames.map((f) => f.samples));
      const refIn = rate === 16000 ? sent : resample(sent, 8000, 16000);
      const back = asterisk.audio(rate === 8000 ? 0x10 : 0x12);
      // slin is lossless; only the 8↔16 kHz resampling (passband edge ~3.7 kHz) costs anything. Per block:
      // see assertBlocksIntact.
      assertBlocksIntact(refIn, inbound, 16000, rate === 16000 ? 90 : 40, stream.counters.jitter, 'inbound');
      assertBlocksIntact(sent, back, rate, rate === 16000 ? 90 : 35, stream.counters.jitter, 'round trip');
      assert.ok(asterisk.received.every((f) => f.kind === (rate === 8000 ? 0x10 : 0x12)));
    } finally {
      stream.close();
      asterisk.close();
    }
  });
}

test('audiosocket: silence streams from the moment of accept (Asterisk hangs up after 2 s without audio)', async () => {
  const uuid = randomUUID();
  const pending = server.expect(uuid);
  const t0 = performance.now();
  const asterisk = await AsteriskAudioSocketSide.connect(server.port, { uuid });
  const stream = await pending;
  try {
    await until(() => asterisk.received.length > 0, 1000, 'first frame');
    assert.ok(asterisk.received[0].at - t0 < 100, 'first frame within 100 ms');
    await sleep(500);
    assert.ok(asterisk.received.length >= 20, `frames in 0.5 s: ${asterisk.received.length}`);
    assert.ok(asterisk.received.every((f) => f.kind === 0x10 && f.payload.length === 320 && f.payload.every((b) => b === 0)));
  } finally {
    stream.close();
    asterisk.close();
  }
});

test('audiosocket: ulaw and alaw are refused with a clear error', () => {
  assert.throws(() => server.expect(randomUUID(), 'ulaw'), /AudioSocket cannot carry ulaw.*slin/);
  assert.throws(() => server.expect(randomUUID(), 'alaw'), /AudioSocket cannot carry alaw/);
});

test('audiosocket: frames split across reads are reassembled; DTMF and hangup both ways', async () => {
  const uuid = randomUUID();
  const pending = server.expect(uuid);
  const asterisk = await AsteriskAudioSocketSide.connect(server.port, { uuid });
  const stream = await pending;
  const digits: string[] = [];
  stream.on('dtmf', (d) => digits.push(d));
  const payload = new Uint8Array(320).fill(7);
  const bytes = Buffer.concat([asterisk.frame(0x10, payload), asterisk.frame(0x03, Buffer.from('7')), asterisk.frame(0x10, payload)]);
  // One byte per write, with pauses so each arrives in its own read.
  for (let i = 0; i < bytes.length; i += 37) {
    asterisk.socket.write(bytes.subarray(i, Math.min(bytes.length, i + 37)));
    await sleep(1);
  }
  await until(() => stream.counters.packetsIn === 2 && digits.length === 1, 2000, 'frames');
  assert.deepEqual(digits, ['7']);
  assert.deepEqual(stream.counters.rejected, {});
  stream.close();
  await until(() => asterisk.closed, 2000, 'socket closed');
  const last = asterisk.received.at(-1)!;
  assert.equal(last.kind, 0x00, 'engine hangs up with 0x00');
  // Asterisk side hangup: it just closes TCP.
  const uuid2 = randomUUID();
  const pending2 = server.expect(uuid2);
  const asterisk2 = await AsteriskAudioSocketSide.connect(server.port, { uuid: uuid2 });
  const stream2 = await pending2;
  const closed = new Promise<string>((r) => stream2.once('close', r));
  asterisk2.close();
  assert.equal(await closed, 'connection closed');
});

test('audiosocket: bad frames close only their connection; other calls keep their audio', async () => {
  const uuid = randomUUID();
  const pending = server.expect(uuid);
  const good = await AsteriskAudioSocketSide.connect(server.port, { uuid });
  const stream = await pending;
  try {
    const cases: Array<[string, (s: AsteriskAudioSocketSide) => void]> = [
      ['unknown_kind', (s) => s.socket.write(Buffer.from([0x42, 0, 1, 0]))],
      ['oversize_frame', (s) => s.socket.write(Buffer.from([0x10, 0xff, 0xff]))],
    ];
    for (const [reason, send] of cases) {
      const badUuid = randomUUID();
      const badStream = server.expect(badUuid);
      const bad = await AsteriskAudioSocketSide.connect(server.port, { uuid: badUuid });
      await badStream;
      send(bad);
      await until(() => bad.closed, 2000, `${reason} closed`);
      assert.ok((server.counters.rejected[reason] ?? 0) >= 1, `${reason} counted`);
    }
    const noUuid = await AsteriskAudioSocketSide.connect(server.port, { sendUuid: false });
    noUuid.socket.write(noUuid.frame(0x10, new Uint8Array(320)));
    await until(() => noUuid.closed, 2000, 'uuid_not_first closed');
    assert.equal(server.counters.rejected.uuid_not_first, 1);
    const unknown = await AsteriskAudioSocketSide.connect(server.port, { uuid: randomUUID() });
    await until(() => unknown.closed, 2000, 'unknown uuid closed');
    assert.ok(server.counters.rejected.unknown_uuid >= 1);
    // The good call still runs: its frames keep arriving and its audio is accepted.
    const before = good.received.length;
    good.socket.write(good.frame(0x10, new Uint8Array(320)));
    await sleep(200);
    assert.ok(good.received.length > before + 5);
    assert.equal(stream.closed, false);
    assert.equal(stream.counters.packetsIn, 1);
  } finally {
    stream.close();
    good.close();
  }
});

test('audiosocket: a flooding peer is held back by TCP flow control, not buffered by the engine', async () => {
  const uuid = randomUUID();
  const pending = server.expect(uuid);
  const flooder = await AsteriskAudioSocketSide.connect(server.port, { uuid });
  const stream = await pending;
  try {
    // 40 000 audio frames (13 MB) in one write: read at line speed, loopback delivers them in well under
    // 0.5 s. Past its per-tick budget the stream stops reading until the next 20 ms tick, so each tick
    // admits at most what one socket read holds and the rest stays queued at the sender.
    const frame = flooder.frame(0x10, new Uint8Array(320).fill(1));
    const total = 40_000;
    flooder.socket.write(Buffer.concat(Array.from({ length: total }, () => frame)));
    const ticksBefore = pacer.stats.ticks;
    const sentBefore = flooder.received.length;
    await sleep(500);
    const handled = stream.counters.packetsIn + (stream.counters.rejected.rate_limited ?? 0);
    const ticks = pacer.stats.ticks - ticksBefore;
    const detail = `${handled} frames handled in ${ticks} ticks, ${flooder.socket.writableLength} bytes held at the sender`;
    assert.ok(handled < total / 2, detail);
    assert.ok(flooder.socket.writableLength > (total / 4) * frame.length, detail);
    // Within each tick's budget audio is still accepted, and the engine's own stream keeps its pace.
    assert.ok(stream.counters.packetsIn >= ticks, detail);
    assert.ok(stream.counters.packetsIn <= 8 * (ticks + 2), detail);
    assert.ok(flooder.received.length - sentBefore >= ticks - 2, 'outbound frames kept flowing');
    assert.equal(stream.closed, false);
  } finally {
    stream.close();
    flooder.close();
  }
});

test('audiosocket: unannounced UUIDs become calls only from allowed sources once dialplan calls are accepted', async () => {
  const dialplan = new AudioSocketServer({ log: testLogger(), host: '127.0.0.1', port: 0, pacer });
  await dialplan.listen();
  const calls: string[] = [];
  dialplan.on('call', (stream) => {
    calls.push(stream.uuid);
    stream.close('test done');
  });
  try {
    // Not opted in: an unannounced UUID is refused, whoever sends it.
    const before = await AsteriskAudioSocketSide.connect(dialplan.port);
    await until(() => before.closed, 2000, 'unannounced connection closed');
    assert.equal(dialplan.counters.rejected.unknown_uuid, 1);
    // Opted in for another network: loopback is still refused, as a source not allowed.
    dialplan.acceptDialplanCalls(sourceAllowlist(['192.0.2.0/24', '2001:db8::/32']));
    const outsider = await AsteriskAudioSocketSide.connect(dialplan.port);
    await until(() => outsider.closed, 2000, 'disallowed source closed');
    assert.equal(dialplan.counters.rejected.source_not_allowed, 1);
    // Allowed: the connection becomes a call.
    dialplan.acceptDialplanCalls(sourceAllowlist(['127.0.0.1']));
    const asterisk = await AsteriskAudioSocketSide.connect(dialplan.port);
    await until(() => calls.length === 1, 2000, 'allowed connection became a call');
    assert.deepEqual(calls, [asterisk.uuid]);
    asterisk.close();
    assert.deepEqual(calls.length, 1);
  } finally {
    await dialplan.close();
  }
});

test('audiosocket: a peer that never closes its side does not keep the engine\'s socket after our hangup', async () => {
  const uuid = randomUUID();
  const pending = server.expect(uuid);
  const asterisk = await AsteriskAudioSocketSide.connect(server.port, { uuid, halfOpen: true });
  const stream = await pending;
  const localPort = asterisk.socket.localPort!;
  // Sockets of this process on the listener's side of that connection, as the kernel lists them.
  const ours = (): string[] =>
    execFileSync('ss', ['-tanpH', `( sport = :${server.port} and dport = :${localPort} )`], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(`pid=${process.pid},`));
  try {
    assert.equal(ours().length, 1, 'the engine holds the call\'s socket');
    stream.close('agent hangup');
    await until(() => asterisk.received.some((f) => f.kind === 0x00), 2000, 'hangup frame received');
    // The peer never answers our FIN; the engine must still let go of the socket (the kernel may keep an
    // orphan in FIN-WAIT-2 for its own short timeout, owned by no process).
    await until(() => ours().length === 0, 3000, 'engine released the half-closed socket');
  } finally {
    asterisk.socket.destroy();
  }
});
