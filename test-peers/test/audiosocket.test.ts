import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { startAsteriskPeer, placeAudioSocketCall, pause, say, FrameParser, encodeFrame, bytesToUuid } from '../src/index.ts';
import { EventLog, ari, sleep } from './helpers.ts';

interface Received { kind: number; length: number; at: number; payload: Buffer }

/** A bare AudioSocket server standing in for the engine. */
async function audioSocketServer(onConnect?: (s: Socket, frames: Received[]) => void) {
  const conns: Array<{ socket: Socket; frames: Received[]; closedAt: Promise<number> }> = [];
  const server = createServer((socket) => {
    const frames: Received[] = [];
    const parser = new FrameParser();
    socket.on('data', (c) => parser.push(c, (f) => frames.push({ kind: f.kind, length: f.payload.length, at: performance.now(), payload: Buffer.from(f.payload) })));
    const closedAt = new Promise<number>((r) => socket.on('close', () => r(performance.now())));
    socket.on('error', () => {});
    conns.push({ socket, frames, closedAt });
    onConnect?.(socket, frames);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, port, conns, close: () => new Promise<void>((r) => (conns.forEach((c) => c.socket.destroy()), server.close(() => r()))) };
}

test('AudioSocket() app: UUID frame first, 0x10 slin frames every 20 ms, TCP closed (no 0x00) on caller hangup', async (t) => {
  const srv = await audioSocketServer();
  t.after(() => srv.close());
  const uuid = randomUUID();
  const call = await placeAudioSocketCall({ port: srv.port, uuid, script: [say('sound:hello-world')] });
  const report = await call.done;
  const conn = srv.conns[0];
  await conn.closedAt;
  const f = conn.frames;
  assert.equal(f[0].kind, 0x01);
  assert.equal(f[0].length, 16);
  assert.equal(bytesToUuid(f[0].payload), uuid);
  const audio = f.slice(1);
  assert.ok(audio.length >= 65);
  assert.ok(audio.every((x) => x.kind === 0x10 && x.length === 320));
  assert.ok(!f.some((x) => x.kind === 0x00), 'Asterisk never sends 0x00');
  const span = audio[audio.length - 1].at - audio[0].at;
  assert.ok(Math.abs(span / (audio.length - 1) - 20) < 1.5, `pace ${span / (audio.length - 1)}`);
  assert.equal(report.endedBy, 'caller-hangup');
});

test('AudioSocket() app hangs up after 2000 ms with no audio either way; a 0x00 from the engine ends the call', async (t) => {
  const srv = await audioSocketServer();
  t.after(() => srv.close());
  const started = performance.now();
  const idle = await placeAudioSocketCall({ port: srv.port, script: [pause(10_000)] });
  const report = await idle.done;
  const closed = await srv.conns[0].closedAt;
  assert.ok(closed - started >= 1900 && closed - started < 2600, `closed after ${closed - started} ms`);
  assert.equal(report.endedBy, 'network');

  const talky = await audioSocketServer((socket) => setTimeout(() => socket.write(encodeFrame(0x00, Buffer.alloc(0))), 300));
  t.after(() => talky.close());
  const hung = await placeAudioSocketCall({ port: talky.port, script: [pause(5000)] });
  assert.equal((await hung.done).endedBy, 'engine-hangup');
});

test('AudioSocket replies are heard; 0xFF error ends the call; DTMF goes out as 0x03', async (t) => {
  const srv = await audioSocketServer((socket) => {
    const loud = Buffer.alloc(320);
    for (let i = 0; i < 160; i++) loud.writeInt16LE(Math.round(6000 * Math.sin(i / 2)), 2 * i);
    let n = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write(encodeFrame(0x10, loud));
      if (++n === 25) {
        clearInterval(timer);
        setTimeout(() => socket.write(encodeFrame(0xff, Buffer.from([0x02]))), 600);
      }
    }, 20);
  });
  t.after(() => srv.close());
  const call = await placeAudioSocketCall({ port: srv.port, script: [{ dtmf: '7' }, pause(5000)] });
  const report = await call.done;
  assert.equal(report.endedBy, 'error');
  assert.ok(report.firstAgentAudioMs !== null);
  assert.ok(srv.conns[0].frames.some((f) => f.kind === 0x03 && f.payload.toString() === '7'));
  assert.ok(report.recording.some((s) => Math.abs(s) > 3000));
});

test('ExternalMedia audiosocket: UUID frame is written before the HTTP 200; slin16 uses 0x12/640; StasisStart follows', async (t) => {
  const srv = await audioSocketServer();
  t.after(() => srv.close());
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const events = await EventLog.open(peer);
  t.after(() => events.close());
  const call = await peer.placeCall({ script: [pause(200), say('sound:hello-world'), pause(200)] });
  await events.next((e) => e.type === 'StasisStart');
  await ari(peer, 'POST', `/channels/${call.channelId}/answer`);
  const bridge = await ari(peer, 'POST', '/bridges');
  const uuid = randomUUID();
  // The connection is made inside the request: an unreachable AudioSocket server fails the request.
  const closed = await audioSocketServer();
  await closed.close();
  const refused = await ari(peer, 'POST', `/channels/externalMedia?app=ai-agent&external_host=127.0.0.1:${closed.port}&format=slin&encapsulation=audiosocket&transport=tcp&data=${uuid}`);
  assert.equal(refused.status, 500);
  assert.equal((await ari(peer, 'GET', '/channels')).json.length, 1, 'no channel left behind');
  const res = await ari(peer, 'POST', `/channels/externalMedia?app=ai-agent&external_host=127.0.0.1:${srv.port}&format=slin16&encapsulation=audiosocket&transport=tcp&data=${uuid}`);
  const repliedAt = performance.now();
  assert.equal(res.status, 200);
  await sleep(5);
  const uuidFrame = srv.conns[0].frames[0];
  assert.equal(uuidFrame.kind, 0x01);
  assert.ok(uuidFrame.at <= repliedAt + 2, 'UUID frame was on the wire when the reply came');
  assert.match(res.json.name, new RegExp(`^AudioSocket/127.0.0.1:${srv.port}-${uuid}$`));
  assert.equal(res.json.channelvars.AUDIOSOCKET_UUID, uuid);
  assert.equal(res.json.channelvars.AUDIOSOCKET_SERVICE, `127.0.0.1:${srv.port}`);
  const started = await events.next((e) => e.type === 'StasisStart' && e.channel.id === res.json.id);
  assert.deepEqual(started.args, [uuid]);
  await ari(peer, 'POST', `/bridges/${bridge.json.id}/addChannel?channel=${call.channelId},${res.json.id}`);
  await call.done;
  const audio = srv.conns[0].frames.slice(1);
  assert.ok(audio.length > 50);
  assert.ok(audio.every((f) => f.kind === 0x12 && f.length === 640));
});
