import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLogger, mediaConfigSchema } from '@ai-agent/common';
import { startAsteriskPeer, pause, hangup, waitForAgent, type AsteriskPeer, type AsteriskPeerOptions } from '@ai-agent/test-peers';
import { AriConnection } from '../../src/telephony/ari-connection.ts';
import { StasisApp } from '../../src/telephony/stasis-app.ts';
import { SessionRegistry } from '../../src/telephony/session-registry.ts';
import { RtpLegFactory } from '../../src/telephony/rtp-leg.ts';
import { createMediaTransports, type MediaTransports } from '../../src/transport/index.ts';
import type { CallControl, CallOutcome, ConversationFactory } from '../../src/call/index.ts';
import type { CallStore } from '../../src/store/types.ts';

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const APP = 'ai-agent';

/** Keeps only how each call ended. */
function outcomeStore(): CallStore & { ended: Array<{ outcome: CallOutcome; hangupCause?: string }> } {
  const ended: Array<{ outcome: CallOutcome; hangupCause?: string }> = [];
  return {
    ended,
    begin: () => undefined,
    answered: () => undefined,
    addTurn: () => undefined,
    addEvent: () => undefined,
    finish: (_id, end) => void ended.push({ outcome: end.outcome, hangupCause: end.hangupCause }),
    get: () => undefined,
    list: () => [],
    purgeEndedBefore: () => 0,
    close: () => undefined,
  };
}

/** A conversation that says a tone into the call at once (proof the media leg is bridged), then runs `act`. */
function toneConversations(act: (control: CallControl) => Promise<void> = async () => undefined): ConversationFactory {
  return ({ media, control }) => {
    const tone = new Int16Array(8000).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    return {
      state: 'listening',
      start: () => {
        media.write(tone, 8000);
        void act(control);
      },
      dtmf: () => undefined,
      finish: async () => undefined,
      close: () => undefined,
      once: () => undefined,
    };
  };
}

describe('a Stasis call session against the Asterisk test peer', () => {
  let media: MediaTransports;
  let peer: AsteriskPeer | null = null;
  let ari: AriConnection | null = null;

  before(async () => {
    media = await createMediaTransports(
      mediaConfigSchema.parse({ rtp: { port_min: 0, port_max: 0 }, audiosocket: { port: 0 }, websocket: { port: 0 } }),
      log,
      { websocketListener: false },
    );
  });
  afterEach(async () => {
    await ari?.stop();
    await peer?.close();
    ari = null;
    peer = null;
  });
  after(async () => {
    await media?.close();
  });

  async function start(conversations: ConversationFactory, peerOptions: AsteriskPeerOptions = {}) {
    peer = await startAsteriskPeer({ username: 'ai-agent', ...peerOptions });
    const store = outcomeStore();
    ari = new AriConnection({ url: peer.url, username: peer.username, password: peer.password, app: APP, log, minBackoffMs: 50 });
    const registry = new SessionRegistry(log);
    new StasisApp(ari, {
      app: APP,
      legs: new RtpLegFactory(media.rtp, 'ulaw'),
      conversations,
      admission: { tryAdmit: () => ({ admit: true, release: () => undefined }) },
      store,
      resolveContext: () => 'default',
      log,
    }, registry, log);
    ari.start();
    assert.equal(await peer.waitForApp(APP, 10_000), true);
    return { peer, ari, registry, store };
  }

  it('waits for a late StasisStart of the media channel before bridging it', async () => {
    const { peer, registry, store } = await start(toneConversations(), { mediaStasisStartDelayMs: 400 });
    const call = await peer.placeCall({ script: [waitForAgent(5000), hangup()] });
    const report = await call.done;
    assert.ok(report.firstAgentAudioMs !== null && report.firstAgentAudioMs >= 400, `heard at ${report.firstAgentAudioMs} ms`);
    await registry.idle();
    assert.deepEqual(store.ended.map((e) => e.outcome), ['caller_hangup']);
  });

  it('a call whose Asterisk goes away as the caller hangs up still ends, and its record is closed', async () => {
    const { peer, registry, store } = await start(toneConversations());
    const call = await peer.placeCall({ script: [waitForAgent(5000), pause(300)] });
    await call.done;
    // Asterisk's HTTP side is gone before the engine's teardown can hang up the media channel and destroy the bridge.
    await peer.close();
    const ended = Promise.race([registry.idle().then(() => 'ended'), new Promise((r) => setTimeout(() => r('stuck'), 15_000))]);
    assert.equal(await ended, 'ended', `the call never left teardown: ${JSON.stringify(registry.list().map((c) => c.state))}`);
    assert.equal(store.ended.length, 1, 'the record was closed');
  });

  it('a caller who hangs up while the call is being set up ends as caller_hangup, not a setup error', async () => {
    const { peer, registry, store } = await start(toneConversations());
    // Hung up at once: the engine's answer, bridge or media requests meet a channel that is gone (404), and the
    // StasisEnd that says why may come after that error.
    const calls = await Promise.all(Array.from({ length: 20 }, (_, i) => peer.placeCall({ script: [pause(i * 5), hangup()] })));
    await Promise.all(calls.map((c) => c.done));
    // A call still asking for its channel variables has no session in the registry yet: wait for every record.
    const deadline = Date.now() + 10_000;
    while (store.ended.length < calls.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await registry.idle();
    assert.equal(store.ended.length, calls.length, 'every call has its record');
    assert.deepEqual(store.ended.filter((e) => e.outcome !== 'caller_hangup'), [], 'calls the caller left during setup');
  });

  it('a media channel that never enters Stasis ends the call with a clear error, within the bound', async () => {
    const { peer, registry, store } = await start(toneConversations(), { mediaStasisStartDelayMs: 60_000 });
    const started = performance.now();
    const call = await peer.placeCall({ script: [pause(10_000)] });
    const report = await call.done;
    assert.equal(report.endedBy, 'engine-hangup');
    const waited = performance.now() - started;
    assert.ok(waited > 4500 && waited < 7000, `ended after ${waited} ms`);
    await registry.idle();
    assert.deepEqual(store.ended, [{ outcome: 'error', hangupCause: 'setup failed' }]);
    // Asterisk keeps nothing of ours: neither the caller nor the media channel.
    assert.equal(peer.core.channels.size, 0);
  });

  it('a stock prompt ends with its PlaybackFinished, and no listener is left behind on any path', async () => {
    const results: Array<{ ms: number; error?: string }> = [];
    const prompts: Array<{ media: string; hangUpAfterMs?: number }> = [];
    const { peer, ari, registry } = await start(
      toneConversations(async (control) => {
        const t0 = performance.now();
        try {
          await control.playSound(prompts[results.length]!.media);
          results.push({ ms: performance.now() - t0 });
        } catch (err) {
          results.push({ ms: performance.now() - t0, error: (err as Error).message });
        }
        await control.hangup();
      }),
    );
    const listeners = () => (ari.api as unknown as { listenerCount(e: string): number }).listenerCount('PlaybackFinished');
    const baseline = listeners();

    // Played to the end: done when Asterisk says so (the prompt lasts ~1.6 s).
    prompts.push({ media: 'sound:all-circuits-busy-now' });
    await (await peer.placeCall({ script: [pause(10_000)] })).done;
    // A prompt Asterisk cannot find: PlaybackFinished (failed) at once.
    prompts.push({ media: 'sound:no-such-prompt' });
    await (await peer.placeCall({ script: [pause(10_000)] })).done;
    // The caller hangs up while it plays.
    prompts.push({ media: 'sound:all-circuits-busy-now' });
    await (await peer.placeCall({ script: [pause(700), hangup()] })).done;
    await registry.idle();

    assert.equal(results.length, 3, JSON.stringify(results));
    assert.ok(results[0]!.ms > 1200 && results[0]!.ms < 3000, `played for ${results[0]!.ms} ms`);
    assert.ok(results[1]!.ms < 500, `a missing prompt took ${results[1]!.ms} ms`);
    assert.ok(results[2]!.ms < 1500, `the wait outlived the caller: ${results[2]!.ms} ms`);
    assert.equal(listeners(), baseline);
  });

  it('after the events connection drops: re-registers, ends a call that vanished meanwhile, takes the next call', async () => {
    const { peer, registry, store } = await start(toneConversations());
    const first = await peer.placeCall({ script: [pause(30_000)] });
    while (registry.count() === 0 || peer.core.bridges.size === 0) await new Promise((r) => setTimeout(r, 20));

    peer.core.apps.closeAll();
    // The caller leaves while the engine cannot hear about it.
    peer.core.remoteHangup(peer.core.channels.get(first.channelId!)!, 16);
    assert.equal(await peer.waitForApp(APP, 10_000), true, 'the app did not register again');
    await registry.idle();
    assert.deepEqual(store.ended, [{ outcome: 'caller_hangup', hangupCause: 'vanished during ARI reconnect' }]);

    const next = await peer.placeCall({ script: [waitForAgent(5000), hangup()] });
    const report = await next.done;
    assert.ok(report.firstAgentAudioMs !== null, 'the call after the reconnect was not bridged');
    await registry.idle();
    assert.equal(peer.core.bridges.size, 0);
  });
});
