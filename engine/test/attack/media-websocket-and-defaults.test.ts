// The listener the main attack file cannot reach (WebSocket media exists only in chan_websocket client mode, an
// engine-wide setting), and the default binds: here only MEDIA_WS_HOST opts in, so every other listener of the
// engine, the local AI server and the admin UI must stay on loopback, as the kernel reports them. A second engine
// with no opt-in at all runs an RTP call (RTP ports exist only during calls) to show where those bind by default.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  canCreateNetns, createRemotePeer, freePort, jsonLines, listeningSockets, startService, type RemotePeer, type ServiceProcess,
} from '@ai-agent/common/testing';
import { hangup, say, startAsteriskPeer, waitForAgent, waitForAgentSilence, type AsteriskPeer, type PlacedCall } from '@ai-agent/test-peers';
import { testConfig, type TestConfig } from '../control/engine-config.ts';
import { assertGeneric, attack, type Seen } from './remote.ts';

// The /30 after the main attack file's, outside createRemotePeer's pool and every address other tests use.
const SUBNET = '10.232.18.4';
const ECHO = `echo${randomBytes(12).toString('hex')}`;

/** The value of one sample of a Prometheus text exposition, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.slice(name.length + 1, l.indexOf('}')).split(',').includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('WebSocket media attacked from a remote namespace; every other listener, RTP included, on loopback by default', { skip: !(await canCreateNetns()) && 'needs root for ip netns', timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'attack-ws-'));
  let remote: RemotePeer;
  let host = '';
  let asterisk: AsteriskPeer;
  let localAi: ServiceProcess;
  let engine: ServiceProcess;
  let admin: ServiceProcess;
  let config: TestConfig;
  /** An engine with every default: RTP transport, no bind variable set. */
  let rtpEngine: ServiceProcess;
  let rtpConfig: TestConfig;
  let mediaPort = 0;
  let controlPort = 0;
  let call: PlacedCall;
  let slow: Promise<Seen>;

  before(async () => {
    remote = await createRemotePeer({ subnet: SUBNET });
    host = remote.hostAddress;
    localAi = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0' });
    const localPort = (JSON.parse(await localAi.waitFor(/local AI server listening/, 60_000)) as { port: number }).port;
    // Asterisk (the peer) must know where to dial before the engine listens: a port chosen up front.
    mediaPort = await freePort();
    asterisk = await startAsteriskPeer({ username: 'ai-agent', password: 'ari-password-0123456789', websocketClients: { 'ai-engine': { uri: `ws://${host}:${mediaPort}` } } });
    config = testConfig({
      ari: { url: asterisk.url, username: 'ai-agent', app: 'ai-agent' },
      telephony: { transport: 'websocket', websocket_connection: 'client', websocket_client: 'ai-engine' },
      media: { websocket: { port: mediaPort } },
      providers: { local: { type: 'local_ai', url: `ws://127.0.0.1:${localPort}` } },
      contexts: { default: { greeting: 'Thank you for calling. How can I help?', tools: ['hangup'] } },
    });
    engine = startService('engine/src/main.ts', { ...config.env, HEALTH_PORT: '0', MEDIA_WS_HOST: host, ARI_PASSWORD: 'ari-password-0123456789' });
    rtpConfig = testConfig({
      ari: { url: asterisk.url, username: 'ai-agent', app: 'ai-agent-rtp' },
      telephony: { transport: 'rtp' },
      providers: { local: { type: 'local_ai', url: `ws://127.0.0.1:${localPort}` } },
      contexts: { default: { greeting: 'Thank you for calling. How can I help?' } },
    });
    rtpEngine = startService('engine/src/main.ts', { ...rtpConfig.env, HEALTH_PORT: '0', ARI_PASSWORD: 'ari-password-0123456789' });
    admin = startService('admin-ui/src/server/main.ts', {
      ADMIN_PORT: '0', ADMIN_DB_PATH: join(dir, 'admin.sqlite'), ADMIN_ENV_FILE: join(dir, '.env'), AI_AGENT_CONFIG: config.file, JWT_SECRET: 'j'.repeat(40),
    });
    writeFileSync(join(dir, '.env'), '', { mode: 0o600 });
    await engine.waitFor(/providers ready/, 60_000);
    controlPort = (jsonLines(engine.stdout()).find((l) => l.msg === 'engine control server listening') as { address: { port: number } }).address.port;
    await admin.waitFor(/admin UI listening/, 60_000);
    assert.equal(await asterisk.waitForApp('ai-agent', 15_000), true);
    await rtpEngine.waitFor(/providers ready/, 60_000);
    assert.equal(await asterisk.waitForApp('ai-agent-rtp', 15_000), true);
    slow = attack<Seen>(remote, host, { port: mediaPort }, `return raw(port, ['GET / HTTP/1.1\\r\\nHost: ' + HOST + '\\r\\nUpgrade: websocket\\r\\nX-Slow: '], 25000);`);
    call = await asterisk.placeCall({
      // Generous waits: on a loaded machine a slow answer is still an answer (no timing is judged here).
      script: [waitForAgentSilence(700, 30_000), say('tts:what are your opening hours'), waitForAgent(30_000), waitForAgentSilence(1000, 30_000), hangup()],
    });
  });

  after(async () => {
    await admin?.stop();
    await engine?.stop();
    await rtpEngine?.stop();
    await localAi?.stop();
    await asterisk?.close();
    await remote?.destroy();
    config?.remove();
    rtpConfig?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('only the opted-in listener leaves loopback, as the kernel sees it', async () => {
    const bound = async (svc: ServiceProcess): Promise<string[]> => (await listeningSockets(svc.child.pid!)).map((s) => `${s.protocol} ${s.address}`).sort();
    const engineBinds = await bound(engine);
    assert.deepEqual(engineBinds, ['tcp 127.0.0.1', 'tcp 127.0.0.1', `tcp ${host}`].sort(), 'control and AudioSocket on loopback, WebSocket media where MEDIA_WS_HOST says');
    assert.ok((await listeningSockets(engine.child.pid!)).some((s) => s.address === host && s.port === mediaPort));
    assert.deepEqual(await bound(localAi), ['tcp 127.0.0.1']);
    // The default engine's RTP port, opened for a call, binds loopback like its control and AudioSocket listeners.
    // The caller stays until the greeting has played: the port exists only while the call has media.
    const rtpCall = await asterisk.placeCall({ app: 'ai-agent-rtp', script: [waitForAgentSilence(700, 30_000), hangup()] });
    let rtpBinds: string[] = [];
    for (let i = 0; i < 150 && !rtpBinds.some((b) => b.startsWith('udp')); i++) {
      rtpBinds = await bound(rtpEngine);
      if (!rtpBinds.some((b) => b.startsWith('udp'))) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(rtpBinds, ['tcp 127.0.0.1', 'tcp 127.0.0.1', 'udp 127.0.0.1'], rtpEngine.stdout().split('\n').filter((l) => !l.includes('"level":20')).slice(-30).join('\n'));
    const rtpReport = await rtpCall.done;
    assert.equal(rtpReport.endedBy, 'caller-hangup');
    assert.ok(rtpReport.agentSpurts.length >= 1, 'the default engine served the call');
    assert.deepEqual(await bound(admin), ['tcp 127.0.0.1']);
    // And from the remote side: only the media port answers on the veth address.
    const reach = await attack<Record<string, boolean>>(remote, host, { ports: { media: mediaPort, control: controlPort } }, `
      const open = (port) => new Promise((resolve) => { const s = net.connect(port, HOST); s.on('connect', () => { s.destroy(); resolve(true); }); s.on('error', () => resolve(false)); });
      return { media: await open(ports.media), control: await open(ports.control) };`);
    assert.deepEqual(reach, { media: true, control: false });
  });

  it('unknown channels, protocol violations, oversized messages, silence and a flood are refused and counted; the call goes on', async () => {
    const seen = await attack<Record<string, { code: number; got: number }> & { plainHttp: Seen }>(remote, host, { port: mediaPort, echo: ECHO }, `
      const { WebSocket } = await import('ws');
      const session = (send, waitMs = 15000) => new Promise((resolve) => {
        const ws = new WebSocket('ws://' + HOST + ':' + port, 'media');
        let got = 0;
        const timer = setTimeout(() => ws.terminate(), waitMs);
        ws.on('message', () => got++);
        ws.on('error', () => {});
        ws.on('open', () => send(ws));
        ws.on('close', (code) => { clearTimeout(timer); resolve({ code, got }); });
      });
      const start = (id) => JSON.stringify({ event: 'MEDIA_START', connection_id: id, channel: 'WebSocket/' + id, channel_id: id, format: 'ulaw', optimal_frame_size: 160, ptime: 20 });
      const r = {};
      r.unknown = await session((ws) => ws.send(start(echo)));
      r.binaryFirst = await session((ws) => ws.send(Buffer.alloc(160)));
      r.garbage = await session((ws) => ws.send('NOT_A_START ' + echo));
      r.oversized = await session((ws) => ws.send('x'.repeat(100 * 1024)));
      r.silent = await session(() => {}, 20000);
      const flood = await Promise.all(Array.from({ length: 40 }, (_, i) => session((ws) => { ws.send(start(echo + i)); for (let k = 0; k < 50; k++) ws.send(Buffer.alloc(160)); })));
      r.flood = { code: flood.every((f) => f.code !== 1005) ? 1 : 0, got: flood.reduce((n, f) => n + f.got, 0) };
      r.plainHttp = await request(port, 'GET', '/' + echo);
      return r;`);
    for (const what of ['unknown', 'binaryFirst', 'garbage', 'oversized', 'silent'] as const) {
      assert.equal(seen[what]!.got, 0, `${what}: the engine says nothing`);
      assert.notEqual(seen[what]!.code, 1005, `${what}: the engine closed the connection`);
    }
    assert.equal(seen.flood.got, 0);
    assert.equal(seen.oversized.code, 1009, 'an oversized message closes the connection (message too big)');
    assert.equal(seen.plainHttp.status, 426);
    assertGeneric('plain HTTP', seen.plainHttp, [ECHO]);
    const metrics = await (await fetch(`http://127.0.0.1:${controlPort}/metrics`)).text();
    for (const reason of ['unknown_channel', 'media_before_start', 'bad_media_start', 'media_start_timeout', 'closed_before_start']) {
      assert.ok(sample(metrics, 'ai_agent_media_rejected_total', { source: 'websocket', reason }) > 0, `${reason} counted`);
      assert.ok(jsonLines(engine.stdout()).some((l) => l.reason === reason), `${reason} logged`);
    }
    assert.ok(sample(metrics, 'ai_agent_media_rejected_total', { source: 'websocket', reason: 'unknown_channel' }) >= 41, 'each flooding connection counted');
  });

  it('a slow upgrade is cut with a generic 408, logged and counted', async () => {
    const s = await slow;
    assert.equal(s.status, 408, s.head);
    assertGeneric('slow upgrade', s, [ECHO]);
    const metrics = await (await fetch(`http://127.0.0.1:${controlPort}/metrics`)).text();
    assert.ok(sample(metrics, 'ai_agent_media_rejected_total', { source: 'websocket', reason: 'request_timeout' }) > 0, 'counted');
    assert.ok(jsonLines(engine.stdout()).some((l) => l.reason === 'request_timeout' && l.remote === remote.peerAddress), 'logged with the source');
  });

  it('the call placed before the attacks was served throughout; no output names what the attacker sent as a channel', async () => {
    const report = await call.done;
    assert.equal(report.endedBy, 'caller-hangup');
    assert.ok(report.agentSpurts.length >= 2, `greeted and answered: ${JSON.stringify({ spurts: report.agentSpurts, timeouts: report.timeouts })}`);
    // A channel id is a credential on this listener: a presented one is never logged whole.
    assert.ok(!engine.stdout().includes(ECHO), 'the presented channel ids are not logged');
  });
});
