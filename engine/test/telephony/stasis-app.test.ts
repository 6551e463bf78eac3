import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, mediaConfigSchema } from '@ai-agent/common';
import { startAsteriskPeer, say, pause, hangup, waitForAgentSilence, type AsteriskPeer } from '@ai-agent/test-peers';
import { AriConnection } from '../../src/telephony/ari-connection.ts';
import { StasisApp } from '../../src/telephony/stasis-app.ts';
import { SessionRegistry } from '../../src/telephony/session-registry.ts';
import { RtpLegFactory } from '../../src/telephony/rtp-leg.ts';
import { AudioSocketLegFactory } from '../../src/telephony/audiosocket-leg.ts';
import { WebSocketLegFactory } from '../../src/telephony/websocket-leg.ts';
import { createMediaTransports, type MediaTransports } from '../../src/transport/index.ts';
import type { MediaLegFactory } from '../../src/telephony/media-leg.ts';
import type { ConversationFactory } from '../../src/call/index.ts';
import type { Admission } from '../../src/telephony/admission.ts';

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const PROMPT = 'sound:vm-goodbye';

/**
 * Stands in for the conversation pipeline: echoes the caller's audio back one second later and records what
 * telephony told it. Enough to prove the ARI call flow and each transport's media path end to end.
 */
function echoConversations(seen: { contexts: string[]; dtmf: string[]; closed: number }): ConversationFactory {
  return ({ info, media }) => {
    seen.contexts.push(info.context);
    const onFrame = (frame: { samples: Int16Array; kind: string }): void => {
      if (frame.kind !== 'silence') media.write(frame.samples, 16000);
    };
    return {
      state: 'listening',
      start: () => void media.on('frame', onFrame),
      dtmf: (d) => void seen.dtmf.push(d),
      finish: async () => undefined,
      close: () => {
        media.off('frame', onFrame);
        seen.closed++;
      },
      once: () => undefined,
    };
  };
}

const admitAll: Admission = { tryAdmit: () => ({ admit: true, release: () => undefined }) };

describe('Stasis application against the Asterisk test peer', () => {
  let peer: AsteriskPeer;
  let media: MediaTransports;

  before(async () => {
    media = await createMediaTransports(
      mediaConfigSchema.parse({ rtp: { port_min: 0, port_max: 0 }, audiosocket: { port: 0 }, websocket: { port: 0 } }),
      log,
      { websocketListener: true },
    );
    // chan_websocket client mode: the peer's websocket_client.conf entry `ai-engine` dials our listener.
    peer = await startAsteriskPeer({ username: 'ai-agent', websocketClients: { 'ai-engine': { uri: `ws://127.0.0.1:${media.websocket!.port}` } } });
  });
  after(async () => {
    await media?.close();
    await peer?.close();
  });

  const transports: Array<[string, () => MediaLegFactory]> = [
    ['rtp (ulaw)', () => new RtpLegFactory(media.rtp, 'ulaw')],
    ['rtp (alaw)', () => new RtpLegFactory(media.rtp, 'alaw')],
    ['audiosocket (slin16)', () => new AudioSocketLegFactory(media.audiosocket, 'slin16', '127.0.0.1')],
    ['websocket (ulaw)', () => new WebSocketLegFactory({ ariUrl: peer.url, format: 'ulaw', log, pacer: media.pacer, stream: {} })],
    ['websocket client mode (slin16)', () => new WebSocketLegFactory({
      ariUrl: peer.url, format: 'slin16', log, pacer: media.pacer, stream: {}, client: { listener: media.websocket!, clientName: 'ai-engine' },
    })],
  ];

  for (const [index, [name, legs]] of transports.entries()) {
    // One Stasis app name per case, so a previous case's registration can never receive this call.
    const appName = `ai-agent-${index}`;
    it(`answers, bridges a ${name} media leg, carries audio both ways and cleans up on caller hangup`, async () => {
      const seen = { contexts: [] as string[], dtmf: [] as string[], closed: 0 };
      const ari = new AriConnection({ url: peer.url, username: peer.username, password: peer.password, app: appName, log });
      const registry = new SessionRegistry(log);
      new StasisApp(ari, {
        app: appName,
        legs: legs(),
        conversations: echoConversations(seen),
        admission: admitAll,
        store: null,
        resolveContext: (requested) => (requested === 'sales' ? 'sales' : 'default'),
        log,
      }, registry, log);
      ari.start();
      try {
        assert.equal(await peer.waitForApp(appName, 10_000), true);
        const call = await peer.placeCall({
          app: appName,
          variables: { AI_CONTEXT: 'sales' },
          callerId: { number: '5551230001', name: 'Test Caller' },
          script: [pause(300), say(PROMPT), waitForAgentSilence(800, 8000), { dtmf: '5' }, pause(300), hangup()],
        });
        const report = await call.done;
        assert.deepEqual(seen.contexts, ['sales']);
        assert.deepEqual(seen.dtmf, ['5']);
        // The caller heard its own prompt come back: agent audio started after it began speaking.
        assert.ok(report.agentSpurts.length >= 1, `caller heard nothing: ${JSON.stringify(report.transcript)}`);
        const heardMs = report.agentSpurts.reduce((sum, s) => sum + (s.endMs - s.startMs), 0);
        assert.ok(heardMs > 500, `heard only ${heardMs} ms`);
        await registry.idle();
        assert.equal(registry.count(), 0);
        assert.equal(seen.closed, 1);
        // Asterisk is left with nothing of ours: no bridge, no media channel.
        const snapshot = await (await fetch(`${peer.url}/ari/bridges`, { headers: { authorization: `Basic ${Buffer.from(`${peer.username}:${peer.password}`).toString('base64')}` } })).json() as unknown[];
        assert.deepEqual(snapshot, []);
        const channels = await (await fetch(`${peer.url}/ari/channels`, { headers: { authorization: `Basic ${Buffer.from(`${peer.username}:${peer.password}`).toString('base64')}` } })).json() as unknown[];
        assert.deepEqual(channels, []);
      } finally {
        await ari.stop();
      }
    });
  }
});

describe('ARI events connection lost mid-call (Asterisk restarting its HTTP side, a network cut)', () => {
  let peer: AsteriskPeer;
  let media: MediaTransports;
  const auth = (): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${peer.username}:${peer.password}`).toString('base64')}` });
  const listOnPeer = async (what: 'bridges' | 'channels'): Promise<unknown[]> => (await (await fetch(`${peer.url}/ari/${what}`, { headers: auth() })).json()) as unknown[];

  before(async () => {
    peer = await startAsteriskPeer({ username: 'ai-agent' });
    media = await createMediaTransports(
      mediaConfigSchema.parse({ rtp: { port_min: 0, port_max: 0 }, audiosocket: { port: 0 }, websocket: { port: 0 } }),
      log,
      { websocketListener: false },
    );
  });
  after(async () => {
    await media?.close();
    await peer?.close();
  });

  function startApp(app: string, seen: { contexts: string[]; dtmf: string[]; closed: number }) {
    const ari = new AriConnection({ url: peer.url, username: peer.username, password: peer.password, app, log, minBackoffMs: 200 });
    const registry = new SessionRegistry(log);
    new StasisApp(ari, {
      app,
      legs: new RtpLegFactory(media.rtp, 'ulaw'),
      conversations: echoConversations(seen),
      admission: admitAll,
      store: null,
      resolveContext: () => 'default',
      log,
    }, registry, log);
    const reconnected = new Promise<void>((resolve) => ari.on('connected', (_client, again) => again && resolve()));
    ari.start();
    return { ari, registry, reconnected };
  }

  async function untilTrue(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a call keeps its media while ARI is down, ends normally once it is back, and new calls work', async () => {
    const seen = { contexts: [] as string[], dtmf: [] as string[], closed: 0 };
    const { ari, registry, reconnected } = startApp('ai-agent-outage', seen);
    try {
      assert.equal(await peer.waitForApp('ai-agent-outage', 10_000), true);
      const call = await peer.placeCall({
        app: 'ai-agent-outage',
        // Everything the caller says is said while the events side is down; the hangup comes after it is back.
        script: [pause(600), say(PROMPT), waitForAgentSilence(800, 8000), pause(3000), hangup()],
      });
      await untilTrue(() => seen.contexts.length === 1, 5000, 'the conversation to start');
      peer.dropEvents(2500);
      const report = await call.done;
      await reconnected;
      const heardMs = report.agentSpurts.reduce((sum, s) => sum + (s.endMs - s.startMs), 0);
      assert.ok(heardMs > 500, `the echo of speech said during the outage was heard for only ${heardMs} ms`);
      assert.equal(report.endedBy, 'caller-hangup');
      await registry.idle();
      assert.equal(seen.closed, 1, 'the conversation was closed by the hangup delivered after the reconnect');
      assert.deepEqual(await listOnPeer('bridges'), []);
      assert.deepEqual(await listOnPeer('channels'), []);

      const next = await peer.placeCall({ app: 'ai-agent-outage', script: [pause(300), say(PROMPT), waitForAgentSilence(800, 8000), hangup()] });
      const nextReport = await next.done;
      assert.ok(nextReport.agentSpurts.length >= 1, 'a call after the reconnect is answered and carries audio');
      await registry.idle();
      assert.equal(seen.contexts.length, 2);
    } finally {
      await ari.stop();
    }
  });

  it('a caller who hung up while ARI was down is ended by the reconcile after the reconnect', async () => {
    const seen = { contexts: [] as string[], dtmf: [] as string[], closed: 0 };
    const { ari, registry, reconnected } = startApp('ai-agent-vanish', seen);
    try {
      assert.equal(await peer.waitForApp('ai-agent-vanish', 10_000), true);
      const call = await peer.placeCall({ app: 'ai-agent-vanish', script: [pause(1500), hangup()] });
      await untilTrue(() => seen.contexts.length === 1, 5000, 'the conversation to start');
      // The hangup at 1.5 s falls in the outage: its StasisEnd reaches no one, and RTP just stops.
      peer.dropEvents(3000);
      await call.done;
      assert.equal(registry.count(), 1, 'nothing told the engine the caller left');
      await reconnected;
      await untilTrue(() => registry.count() === 0, 5000, 'the reconcile to end the vanished call');
      assert.equal(seen.closed, 1);
      // The engine released what it had on Asterisk: its media channel and its bridge.
      assert.deepEqual(await listOnPeer('bridges'), []);
      assert.deepEqual(await listOnPeer('channels'), []);
    } finally {
      await ari.stop();
    }
  });
});
