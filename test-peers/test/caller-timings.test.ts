import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAsteriskPeer, say, bargeIn, waitForAgentSilence, pause, loadAudio, ulawRtpPacket, voicedFrames } from '../src/index.ts';
import { EventLog, bridgeWithExternalMedia, udpSocket } from './helpers.ts';

const REPLY_DELAY_MS = 300;
const END_OF_SPEECH_MS = 100;
/** Quiet noise (RMS ≈ 40, below the audible level) that starts each reply, as a synthesiser's lead-in does. */
const LEAD_IN_MS = 200;

test('the scripted caller measures response latency, barge-in stop time and gaps on the wire', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const events = await EventLog.open(peer);
  t.after(() => events.close());
  const engine = await udpSocket();
  const prompt = await loadAudio('sound:demo-congrats');
  // After the lead-in, the reply starts at its first loud sample so the expected latency is exact.
  const start = prompt.findIndex((x) => Math.abs(x) > 2000);
  const leadIn = Int16Array.from({ length: LEAD_IN_MS * 8 }, (_, i) => (i % 2 ? 40 : -40));
  const reply = new Int16Array(leadIn.length + 2.5 * 8000);
  reply.set(leadIn);
  reply.set(prompt.subarray(start, start + 2.5 * 8000), leadIn.length);
  // The caller's prompt has silence before and after its words: speech is timed by its audible frames.
  const said = await loadAudio('sound:hello-world');
  const voiced = voicedFrames(said)!;
  const leadingMs = voiced.first * 20;
  const trailingMs = (Math.ceil(said.length / 160) - 1 - voiced.last) * 20;

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
      engine.socket.send(ulawRtpPacket(reply.subarray(pos, pos + 160), seq++, 99), dest.port, dest.address);
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
  assert.equal(report.bargeIns.length, 1);
  const b = report.bargeIns[0];
  // The fake engine answers the end of the caller's RTP (its trailing silence included); the caller times
  // from the end of its words to the first audible reply frame, after the lead-in.
  const expected = trailingMs + END_OF_SPEECH_MS + REPLY_DELAY_MS + LEAD_IN_MS;
  for (const turn of [...report.turns, b]) {
    // The fake engine's own 20 ms timer may run late on a loaded machine, never early.
    assert.ok(turn.responseLatencyMs !== null && turn.responseLatencyMs >= expected - 40 && turn.responseLatencyMs <= expected + 150, `latency ${turn.responseLatencyMs} vs ${expected}`);
    assert.ok(turn.replyLeadInMs !== null && Math.abs(turn.replyLeadInMs - LEAD_IN_MS) <= 20, `lead-in ${turn.replyLeadInMs}`);
    // A late tick sends its frame with the next one (catch-up), so a busy sender may shorten the span by a frame or two.
    assert.ok(turn.speechEndMs - turn.onsetMs >= (voiced.last - voiced.first) * 20 - 41, JSON.stringify(turn));
  }
  assert.ok(b.agentStopMs !== null && b.agentStopMs <= 150, `agent stopped ${b.agentStopMs} ms after onset`);
  const secondReply = report.agentSpurts[1];
  const into = b.onsetMs - secondReply.startMs - leadingMs;
  assert.ok(into >= 680 && into <= 760, `barge-in ${into} ms into the agent audio, not 700`);
  // The injected hole is found; any other gap must come from the sender itself stalling (a loaded CI box).
  const senderStalls = sends.slice(1).filter((t, i) => t - sends[i] > 50 && t - sends[i] < 400).length;
  assert.ok(report.gaps.count >= 1 && report.gaps.maxMs >= 120, JSON.stringify(report.gaps));
  assert.ok(report.gaps.count <= senderStalls + 1, `${report.gaps.count} gaps, ${senderStalls} sender stalls`);
  assert.deepEqual(report.timeouts, [], JSON.stringify(report.transcript));
  assert.ok(report.transcript.some((e) => e.who === 'agent'));
  assert.ok(report.durationMs > 5000);
});
