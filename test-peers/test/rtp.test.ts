import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAsteriskPeer, pause, say, parseRtp, ulawRtpPacket, writeRtpHeader } from '../src/index.ts';
import { EventLog, audibleFrames, bridgeWithExternalMedia, sleep, udpSocket } from './helpers.ts';

const RUN_MS = 12_000;

test(`RTP to the engine: 20 ms pace on one clock with no drift over ${RUN_MS / 1000} s, Asterisk header conventions`, async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const events = await EventLog.open(peer);
  t.after(() => events.close());
  const rtp = await udpSocket();
  t.after(() => rtp.socket.close());
  const arrivals: number[] = [];
  const packets: Buffer[] = [];
  let sourcePort = 0;
  rtp.socket.on('message', (msg, rinfo) => {
    arrivals.push(performance.now());
    packets.push(msg);
    sourcePort = rinfo.port;
  });
  // transmit_silence=yes: the caller streams silence, so Asterisk sends a steady 50 packets/s.
  const call = await peer.placeCall({ script: [pause(RUN_MS + 1000)], transmitSilence: true });
  const { channel } = await bridgeWithExternalMedia(peer, events, call.channelId!, `external_host=127.0.0.1:${rtp.port}&format=ulaw`);
  await sleep(RUN_MS);
  const n = arrivals.length;
  assert.ok(n >= RUN_MS / 20 - 10, `${n} packets`);
  const intervals = arrivals.slice(1).map((a, i) => a - arrivals[i]);
  const mean = intervals.reduce((a, b) => a + b, 0) / intervals.length;
  assert.ok(Math.abs(mean - 20) <= 0.5, `mean interval ${mean.toFixed(3)} ms`);
  const drift = arrivals[n - 1] - arrivals[0] - 20 * (n - 1);
  assert.ok(Math.abs(drift) < 40, `drift ${drift.toFixed(1)} ms over ${n} packets`);

  assert.equal(sourcePort, Number(channel.channelvars.UNICASTRTP_LOCAL_PORT), 'sent from UNICASTRTP_LOCAL_PORT');
  const headers = packets.map((p) => parseRtp(p)!);
  assert.equal(headers[0].timestamp, 160, 'timestamps start at 160');
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i];
    assert.equal(packets[i].length, 172);
    assert.equal(h.payloadType, 0);
    assert.equal(h.marker, false, 'marker never set');
    assert.equal(h.ssrc, headers[0].ssrc);
    if (i > 0) {
      assert.equal(h.sequence, (headers[i - 1].sequence + 1) & 0xffff);
      assert.equal(h.timestamp, headers[i - 1].timestamp + 160);
    }
  }
  assert.ok(packets[5].subarray(12).every((b) => b === 0xff), 'transmit_silence sends µ-law 0xFF');
  await call.session.line?.hangup();
});

test('no RTP while the caller is silent; slin16 is PT 118 big-endian 640 bytes; replies: PT 118 dropped, strict RTP learns a new source after 4 packets', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const events = await EventLog.open(peer);
  t.after(() => events.close());
  const engine = await udpSocket();
  const other = await udpSocket();
  t.after(() => (engine.socket.close(), other.socket.close()));
  const arrivals: Array<{ at: number; msg: Buffer }> = [];
  engine.socket.on('message', (msg) => arrivals.push({ at: performance.now(), msg }));

  const call = await peer.placeCall({ script: [pause(600), say('sound:hello-world'), pause(2500)] });
  const { channel } = await bridgeWithExternalMedia(peer, events, call.channelId!, `external_host=127.0.0.1:${engine.port}&format=slin16`);
  const localPort = Number(channel.channelvars.UNICASTRTP_LOCAL_PORT);
  await sleep(400);
  assert.equal(arrivals.length, 0, 'silent caller: no RTP at all');
  await sleep(1700);
  assert.ok(arrivals.length >= 65, `${arrivals.length} packets while speaking`);
  const h0 = parseRtp(arrivals[0].msg)!;
  assert.equal(h0.payloadType, 118);
  assert.equal(arrivals[0].msg.length, 652);
  assert.equal(parseRtp(arrivals[1].msg)!.timestamp - h0.timestamp, 320);

  const loud = new Int16Array(160).map((_, i) => Math.round(8000 * Math.sin(i / 3)));
  const packet = (pt: number, seq: number) => {
    if (pt === 0) return ulawRtpPacket(loud, seq, 1234);
    const b = Buffer.alloc(652);
    writeRtpHeader(b, pt, seq, seq * 160, 1234);
    for (let i = 0; i < 320; i++) b.writeInt16BE(loud[i % 160], 12 + 2 * i);
    return b;
  };
  const send = async (sock: typeof engine.socket, pt: number, count: number, base: number) => {
    for (let i = 0; i < count; i++) sock.send(packet(pt, base + i), localPort, '127.0.0.1');
    await sleep(count * 20 + 300);
  };
  await sleep(800); // let the prompt finish in the recording window
  await send(engine.socket, 118, 10, 100); // dropped: no receive mapping for dynamic PTs
  await send(engine.socket, 0, 10, 200); // heard
  await send(other.socket, 0, 10, 300); // first 4 lost while strict RTP learns the new source
  const report = await call.done;
  assert.equal(audibleFrames(report.recording), 16, 'PT 118 dropped, 10 PT 0 heard, 6 of 10 from the new source');
});
