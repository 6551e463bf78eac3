// Property-based fuzzing (fast-check, seeded) of the ARI events the engine's Stasis application receives, sent
// over the real events WebSocket by the Asterisk test peer: events of every type the engine handles (and
// others), with fields missing, of the wrong type, or naming channels that do not exist. The engine must not
// crash, must not keep a call for a channel Asterisk does not have, and must still answer the next real call.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createLogger, mediaConfigSchema } from '@ai-agent/common';
import { fuzzSettings } from '@ai-agent/common/testing';
import { hangup, pause, say, startAsteriskPeer, waitForAgentSilence, type AsteriskPeer } from '@ai-agent/test-peers';
import { AriConnection } from '../../src/telephony/ari-connection.ts';
import { RtpLegFactory } from '../../src/telephony/rtp-leg.ts';
import { SessionRegistry } from '../../src/telephony/session-registry.ts';
import { StasisApp } from '../../src/telephony/stasis-app.ts';
import { createMediaTransports, type MediaTransports } from '../../src/transport/index.ts';
import type { ConversationFactory } from '../../src/call/index.ts';

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const APP = 'ai-agent-fuzz';

let peer: AsteriskPeer;
let media: MediaTransports;
before(async () => {
  peer = await startAsteriskPeer({ username: 'ai-agent' });
  media = await createMediaTransports(mediaConfigSchema.parse({ rtp: { port_min: 0, port_max: 0 }, audiosocket: { port: 0 }, websocket: { port: 0 } }), log, { websocketListener: false });
});
after(async () => {
  await media?.close();
  await peer?.close();
});

/** Echoes the caller's audio: enough to prove a call after the storm is answered and carries media. */
const echo: ConversationFactory = ({ media: stream }) => {
  const onFrame = (frame: { samples: Int16Array; kind: string }): void => {
    if (frame.kind !== 'silence') stream.write(frame.samples, 16000);
  };
  return {
    state: 'listening',
    start: () => void stream.on('frame', onFrame),
    dtmf: () => undefined,
    finish: async () => undefined,
    close: () => void stream.off('frame', onFrame),
    once: () => undefined,
  };
};

const anything = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }));
const channel = fc.oneof(
  fc.record({
    id: fc.oneof(fc.string({ maxLength: 16 }), fc.constant('1.0'), anything),
    name: fc.oneof(fc.constantFrom('PJSIP/alice-00000001', 'UnicastRTP/127.0.0.1:5000-0x1', 'WebSocket/x/0x2', 'AudioSocket/h:1-u'), anything),
    state: fc.oneof(fc.constantFrom('Up', 'Ring', 'Down'), anything),
    caller: fc.oneof(fc.record({ number: anything, name: anything }, { requiredKeys: [] }), anything),
    channelvars: fc.oneof(fc.dictionary(fc.constantFrom('AI_CONTEXT', 'AI_PROVIDER', 'X'), anything), anything),
  }, { requiredKeys: [] }),
  anything,
);
const event = fc.record({
  type: fc.oneof(fc.constantFrom('StasisStart', 'StasisEnd', 'ChannelDestroyed', 'ChannelHangupRequest', 'ChannelDtmfReceived', 'PlaybackFinished', 'ChannelStateChange', 'BridgeDestroyed', 'ChannelVarset'), fc.string({ maxLength: 12 })),
  fields: fc.record({
    channel,
    args: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), anything),
    digit: fc.oneof(fc.constantFrom('1', '#', '*'), anything),
    cause: anything,
    cause_txt: anything,
    playback: fc.oneof(fc.record({ id: anything, state: anything }, { requiredKeys: [] }), anything),
  }, { requiredKeys: [] }),
});

test('fuzz ARI events: malformed and unknown events over the events WebSocket leave the engine serving calls', async () => {
  const ari = new AriConnection({ url: peer.url, username: peer.username, password: peer.password, app: APP, log });
  const registry = new SessionRegistry(log);
  new StasisApp(ari, { app: APP, legs: new RtpLegFactory(media.rtp, 'ulaw'), conversations: echo, admission: { tryAdmit: () => ({ admit: true, release: () => undefined }) }, store: null, resolveContext: () => 'default', log }, registry, log);
  ari.start();
  try {
    assert.equal(await peer.waitForApp(APP, 10_000), true);
    const subject = { subscribers: new Set([APP]) };
    const { numRuns, seed } = fuzzSettings('ari-events');
    const events = fc.sample(event, { numRuns, seed });
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      peer.core.apps.emit(e.type, e.fields, [subject]);
      // Let the socket drain now and then, as a real event stream would.
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    // A real call after the storm: its StasisStart comes after every storm event on the same socket, so once it
    // is answered the engine has processed them all.
    const call = await peer.placeCall({ app: APP, script: [pause(300), say('sound:vm-goodbye'), waitForAgentSilence(800, 8000), hangup()] });
    const report = await call.done;
    assert.ok(report.agentSpurts.length >= 1, 'the call after the storm was answered and carried audio');
    assert.ok(ari.counters.badEvents > 0, 'events ari-client cannot model were dropped and counted');
    // Calls for channels that do not exist fail their first ARI request and end; none may linger.
    const deadline = performance.now() + 20_000;
    while (registry.count() > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(registry.count(), 0, 'calls for channels Asterisk does not have were kept');
  } finally {
    await ari.stop();
  }
});
