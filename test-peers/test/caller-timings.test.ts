import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAsteriskPeer, say, bargeIn, waitForAgentSilence, pause, loadAudio, ulawEncode, writeRtpHeader } from '../src/index.ts';
import { EventLog, bridgeWithExternalMedia, udpSocket } from './helpers.ts';

const REPLY_DELAY_MS = 300;
const END_OF_SPEECH_MS = 100;

test('the scripted caller measures response latency, barge-in stop time and gaps on the wire', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const events = await EventLog.open(peer);
  t.after(() => events.close());
  const engine = await udpSocket();
  const prompt = await loadAudio('sound:demo-congrats');
  // Start the reply at its first loud sample so the expected latency is exact.
  const start = prompt.findIndex((x) => Math.abs(x) > 2000);
  const reply = prompt.subarray(start, start + 2.5 * 8000);

  // A tiny engine: answers 300 ms after the caller's RTP stops, stops at once when the caller talks.
  let lastCaller = 0;
  let replyAt = Infinity;
  let pos = -1;
  let seq = 0;
  let dest: { port: number; address: string } | null = null;
  // One deliberate 120 ms hole, 1 s into the first reply, that the report must find.
  let holeTicks = 6;
  const sends: number[] = [];
  engine.socket.on('message', (_msg, rinfo) => {
    dest = rinfo;
    lastCaller = performance.now();
    pos = -1;
    replyAt = Infinity;
  });
  const timer = setInterval(() => {
    const now = performance.now();
    if (pos < 0 && lastCaller > 0 && replyAt === Infinity && now - lastCaller > END_OF_SPEECH_MS) replyAt = lastCaller + END_OF_SPEECH_MS + REPLY_DELAY_MS;
    if (pos < 0 && now >= replyAt) {
      pos = 0;
      replyAt = Infinity;
      lastCaller = 0;
    }
    if (pos === 8000 && holeTicks > 0) {
      holeTicks--;
      return;
    }
    if (pos >= 0 && dest && pos + 160 <= reply.length) {
      sends.push(now);
      const pkt = Buffer.alloc(172);
      writeRtpHeader(pkt, 0, seq++, seq * 160, 99);
      ulawEncode(reply.subarray(pos, pos + 160), pkt, 12);
      engine.socket.send(pkt, dest.port, dest.address);
      pos += 160;
    }
  }, 20);
  t.after(() => (clearInterval(timer), engine.socket.close()));

  const call = await peer.placeCall({
    script: [pause(300), say('sound:hello-world'), waitForAgentSilence(800, 15_000), say('sound:hello-world'), bargeIn(700, 'sound:hello-world'), pause(1000)],
  });
  await bridgeWithExternalMedia(peer, events, call.channelId!, `external_host=127.0.0.1:${engine.port}&format=ulaw`);
  const report = await call.done;

  assert.equal(report.turns.length, 2);
  for (const turn of report.turns) {
    const expected = END_OF_SPEECH_MS + REPLY_DELAY_MS;
    // The fake engine's own 20 ms timer may run late on a loaded machine, never early.
    assert.ok(turn.responseLatencyMs !== null && turn.responseLatencyMs >= expected - 40 && turn.responseLatencyMs <= expected + 150, `latency ${turn.responseLatencyMs} vs ${expected}`);
  }
  assert.equal(report.bargeIns.length, 1);
  const b = report.bargeIns[0];
  assert.ok(b.agentStopMs !== null && b.agentStopMs <= 150, `agent stopped ${b.agentStopMs} ms after onset`);
  const secondReply = report.agentSpurts[1];
  assert.ok(b.onsetMs - secondReply.startMs >= 680 && b.onsetMs - secondReply.startMs <= 760, 'barge-in 700 ms into the agent audio');
  // The injected hole is found; any other gap must come from the sender itself stalling (a loaded CI box).
  const senderStalls = sends.slice(1).filter((t, i) => t - sends[i] > 50 && t - sends[i] < 400).length;
  assert.ok(report.gaps.count >= 1 && report.gaps.maxMs >= 120, JSON.stringify(report.gaps));
  assert.ok(report.gaps.count <= senderStalls + 1, `${report.gaps.count} gaps, ${senderStalls} sender stalls`);
  assert.deepEqual(report.timeouts, [], JSON.stringify(report.transcript));
  assert.ok(report.transcript.some((e) => e.who === 'agent'));
  assert.ok(report.durationMs > 5000);
});
