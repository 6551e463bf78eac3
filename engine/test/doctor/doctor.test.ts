// `npm run doctor` as an operator runs it: a real process against the Asterisk test peer and the local AI
// fake, once with a correct configuration and once per planted misconfiguration, judged by exit code and output.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { createLogger } from '@ai-agent/common';
import { freePort, startService } from '@ai-agent/common/testing';
import { startAsteriskPeer, startLocalAiFake, type AsteriskPeer, type LocalAiFake } from '@ai-agent/test-peers';
import { testConfig, type TestConfig } from '../control/engine-config.ts';

const quiet = createLogger({ service: 'asterisk-test-peer', level: 'error' });

const ARI_PASSWORD = 'doctor-ari-password-3f9a';
const LOCAL_TOKEN = 'doctor-local-token-77aa01';

interface DoctorRun {
  code: number | null;
  out: string;
}

/** A correct engine configuration of its own: ports nobody else probes, its own Stasis app name. */
interface Setup {
  app: string;
  ports: { control: number; audiosocket: number; rtp: number };
  /** Its environment, with `more` on top. */
  env(more?: Record<string, string>): Record<string, string>;
  /** Another config file like this one with more overrides (same ports). */
  variant(overrides: Record<string, unknown>): TestConfig;
}

let dir: string;
let emptyEnv: string;
let peer: AsteriskPeer;
let local: LocalAiFake;
const configs: TestConfig[] = [];
let setups = 0;

/** Runs the doctor as `npm run doctor` does, with only the given environment (no .env of the developer's). */
async function doctor(env: Record<string, string>, args: string[] = ['--timeout-ms', '10000']): Promise<DoctorRun> {
  const proc = startService('engine/src/doctor/cli.ts', env, ['--env-file', emptyEnv, ...args]);
  const code = await proc.exited;
  return { code, out: proc.stdout() + proc.stderr() };
}

/** Distinct free ports, held until all are chosen so none is handed out twice. */
async function distinctPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    return server;
  }));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function setup(): Promise<Setup> {
  const [control, audiosocket, rtp] = await distinctPorts(3);
  const ports = { control, audiosocket, rtp };
  const app = `ai-agent-${++setups}`;
  const tree = (more: Record<string, unknown>): Record<string, unknown> => {
    const merged: Record<string, unknown> = {
      control: { port: control },
      telephony: { transport: 'rtp' },
      // One RTP port, so one call at most.
      media: { audiosocket: { port: audiosocket }, rtp: { port_min: rtp, port_max: rtp } },
      providers: { local: { type: 'local_ai', url: local.url } },
      limits: { max_concurrent_calls: 1 },
    };
    for (const [k, v] of Object.entries(more)) merged[k] = { ...(merged[k] as object), ...(v as object) };
    return merged;
  };
  const variant = (overrides: Record<string, unknown>): TestConfig => {
    const c = testConfig(tree(overrides));
    configs.push(c);
    return c;
  };
  const config = variant({});
  const env = (more: Record<string, string> = {}): Record<string, string> => ({
    ...config.env,
    ARI_URL: peer.url,
    ARI_USERNAME: 'ai-agent',
    ARI_PASSWORD,
    ARI_APP: app,
    LOCAL_WS_AUTH_TOKEN: LOCAL_TOKEN,
    ...more,
  });
  return { app, ports, env, variant };
}

function line(out: string, pattern: RegExp): string {
  const hit = out.split('\n').find((l) => pattern.test(l));
  assert.ok(hit, `no line matching ${pattern} in:\n${out}`);
  return hit;
}

/** The "fix:" line printed right after the line matching `pattern`. */
function fixAfter(out: string, pattern: RegExp): string {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => pattern.test(l));
  assert.ok(i >= 0 && /^\s+fix: /.test(lines[i + 1] ?? ''), `no fix after ${pattern} in:\n${out}`);
  return lines[i + 1];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'doctor-'));
  emptyEnv = join(dir, 'empty.env');
  writeFileSync(emptyEnv, '');
  [peer, local] = await Promise.all([startAsteriskPeer({ username: 'ai-agent', password: ARI_PASSWORD, log: quiet }), startLocalAiFake({ token: LOCAL_TOKEN })]);
});

after(async () => {
  await Promise.all([peer?.close(), local?.close()]);
  for (const c of configs) c.remove();
  rmSync(dir, { recursive: true, force: true });
});

// Side by side: each run has its own ports and Stasis app name (the peer and the local AI fake are shared).
describe('npm run doctor', { concurrency: 3 }, () => {
  it('passes every check against the test peer with a correct configuration, and prints no secret', async () => {
    const good = await setup();
    const { code, out } = await doctor(good.env(), ['--json', '--timeout-ms', '10000']);
    assert.equal(code, 0, out);
    const report = JSON.parse(out) as { ok: boolean; results: Array<{ id: string; status: string; detail: string }> };
    assert.equal(report.ok, true);
    const notPassed = report.results.filter((r) => r.status !== 'pass');
    assert.deepEqual(notPassed, [], 'every check passes');
    const ids = report.results.map((r) => r.id);
    for (const id of [
      'config', 'engine.running', 'ari.reachable', 'asterisk.version', 'asterisk.module.res_ari', 'asterisk.module.res_stasis',
      'asterisk.module.app_stasis', 'asterisk.module.chan_rtp', 'stasis.app', 'listener.health', 'listener.audiosocket', 'listener.rtp',
      'listener.local_ws', 'media.advertise.rtp', 'provider.local.hello', 'data.store',
    ]) assert.ok(ids.includes(id), `${id} reported: ${ids.join(', ')}`);
    const detail = (id: string): string => report.results.find((r) => r.id === id)!.detail;
    assert.match(detail('ari.reachable'), /Asterisk 22\.6\.0, credentials of "ai-agent" accepted/);
    assert.match(detail('provider.local.hello'), /STT fake; TTS fake \(voices slt\); dialogue fake/, 'the engines the hello reports');
    assert.match(detail('stasis.app'), /free/);
    assert.ok(!out.includes(ARI_PASSWORD) && !out.includes(LOCAL_TOKEN), 'no secret in the output');
    // The test registration of the app was let go: a Stasis() call would not land on a dead socket.
    for (let i = 0; i < 50 && peer.core.apps.has(good.app); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(peer.core.apps.has(good.app), false);
  });

  it('wrong ARI password: fails naming the credentials and ari.conf', async () => {
    const { code, out } = await doctor((await setup()).env({ ARI_PASSWORD: 'not-the-password' }));
    assert.equal(code, 1, out);
    line(out, /^FAIL\s+ARI\s+http:\/\/127\.0\.0\.1:\d+: credentials of "ai-agent" refused \(HTTP 401\)$/);
    assert.match(fixAfter(out, /^FAIL\s+ARI\s/), /ARI_USERNAME and ARI_PASSWORD must match a user section of ari\.conf/);
    line(out, /^SKIP\s+Asterisk modules\s+not checked: credentials refused/);
    assert.ok(!out.includes('not-the-password'));
  });

  it('ARI unreachable: fails with the connection error and the http.conf fix', async () => {
    const closed = await freePort();
    const { code, out } = await doctor((await setup()).env({ ARI_URL: `http://127.0.0.1:${closed}` }));
    assert.equal(code, 1, out);
    line(out, new RegExp(`^FAIL\\s+ARI\\s+http://127\\.0\\.0\\.1:${closed}: connection refused`));
    assert.match(fixAfter(out, /^FAIL\s+ARI\s/), /http\.conf needs enabled = yes and bindaddr\/bindport matching ARI_URL/);
  });

  it('a module the configured transport needs is not loaded: fails naming it and how to load it', async () => {
    const stripped = await startAsteriskPeer({ username: 'ai-agent', password: ARI_PASSWORD, log: quiet });
    try {
      stripped.core.modules.unload('chan_rtp.so');
      const { code, out } = await doctor((await setup()).env({ ARI_URL: stripped.url }));
      assert.equal(code, 1, out);
      line(out, /^FAIL\s+module chan_rtp\.so\s+not loaded; needed for ExternalMedia RTP \(telephony\.transport: rtp\)$/);
      assert.match(fixAfter(out, /^FAIL\s+module chan_rtp\.so/), /asterisk -rx "module load chan_rtp\.so"/);
      line(out, /^PASS\s+module res_ari\.so\s+running/);
    } finally {
      await stripped.close();
    }
  });

  it('a listener port is taken by another process: fails naming the address and the setting', async () => {
    const taken = await setup();
    const squatter: Server = createServer();
    squatter.listen(taken.ports.audiosocket, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const { code, out } = await doctor(taken.env());
      assert.equal(code, 1, out);
      line(out, new RegExp(`^FAIL\\s+AudioSocket listener\\s+127\\.0\\.0\\.1:${taken.ports.audiosocket} is in use by another process`));
      assert.match(fixAfter(out, /^FAIL\s+AudioSocket listener/), /media\.audiosocket\.port \(AUDIOSOCKET_PORT\)/);
      line(out, /^PASS\s+control API\s+127\.0\.0\.1:\d+: free to bind/);
    } finally {
      squatter.close();
    }
  });

  it('a listener opened beyond loopback without its token: fails like the service would, warns where the service warns', async () => {
    const { code, out } = await doctor((await setup()).env({ LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_AUTH_TOKEN: '', HEALTH_BIND_HOST: '0.0.0.0' }));
    assert.equal(code, 1, out);
    line(out, /^FAIL\s+local AI server listener\s+refuses to start: LOCAL_WS_HOST=0\.0\.0\.0 exposes the local_ws listener beyond this host, which requires LOCAL_WS_AUTH_TOKEN/);
    assert.match(fixAfter(out, /^FAIL\s+local AI server listener/), /set LOCAL_WS_AUTH_TOKEN, or unset LOCAL_WS_HOST/);
    line(out, /^WARN\s+control API\s+HEALTH_API_TOKEN is not set: protected control routes accept remote callers only with a signed request/);
  });

  it('a loopback media address while Asterisk is on another host: fails with "no audio"', async () => {
    // ARI at a documentation address: the advertise check needs only its place, not an answer.
    const remote = await setup();
    const short = ['--timeout-ms', '500'];
    const ariUrl = 'http://203.0.113.7:8088';
    const { code, out } = await doctor(remote.env({ ARI_URL: ariUrl }), short);
    assert.equal(code, 1, out);
    const hit = line(out, /^FAIL\s+RTP address for Asterisk\s+Asterisk \(ARI host 203\.0\.113\.7\) is on another host but is told 127\.0\.0\.1/);
    assert.match(hit, /no audio$/);
    assert.match(fixAfter(out, /^FAIL\s+RTP address for Asterisk/), /media\.rtp\.advertise_host .*EXTERNAL_MEDIA_RTP_HOST/);
    // Advertising another address from a loopback-bound listener is as broken, for another reason ...
    const { rtp } = remote.ports;
    const bound = remote.variant({ media: { rtp: { port_min: rtp, port_max: rtp, advertise_host: '198.51.100.5' } } });
    const second = await doctor(remote.env({ ...bound.env, ARI_URL: ariUrl }), short);
    line(second.out, /^FAIL\s+RTP address for Asterisk\s+the listener binds 127\.0\.0\.1 but Asterisk is told 198\.51\.100\.5/);
    // ... and right once the listener binds beyond loopback.
    const open = await doctor(remote.env({ ...bound.env, ARI_URL: ariUrl, EXTERNAL_MEDIA_RTP_HOST: '0.0.0.0' }), short);
    line(open.out, /^PASS\s+RTP address for Asterisk\s+198\.51\.100\.5 \(listener bound to 0\.0\.0\.0/);
  });

  it('slin16 replies over RTP, which Asterisk drops: fails with "one-way audio"', async () => {
    const s16 = await setup();
    const { rtp } = s16.ports;
    const slin = s16.variant({ telephony: { transport: 'rtp', rtp_format: 'slin16' }, media: { rtp: { port_min: rtp, port_max: rtp, slin16_reply: 'slin16' } } });
    const { code, out } = await doctor(s16.env(slin.env));
    assert.equal(code, 1, out);
    line(out, /^FAIL\s+RTP reply format\s+replies in slin16 \(payload type 118\) are dropped by Asterisk's chan_rtp: the caller hears nothing \(one-way audio\)$/);
    assert.match(fixAfter(out, /^FAIL\s+RTP reply format/), /media\.rtp\.slin16_reply: ulaw/);
  });

  it('the local AI server is down: fails naming its URL and the contexts that need it', async () => {
    const s = await setup();
    const dead = `ws://127.0.0.1:${await freePort()}`;
    const down = s.variant({ providers: { local: { type: 'local_ai', url: dead } } });
    const { code, out } = await doctor(s.env(down.env));
    assert.equal(code, 1, out);
    line(out, new RegExp(`^FAIL\\s+local AI server \\(providers\\.local\\)\\s+${dead.replace(/[/.]/g, '\\$&')}: connection refused .*contexts\\.default cannot be answered`));
    assert.match(fixAfter(out, /^FAIL\s+local AI server \(providers\.local\)/), /npm start runs it/);
  });

  it('a configured cloud provider without its key: fails naming the variable; a set key is "set", never shown', async () => {
    const s = await setup();
    const cloud = s.variant({ providers: { local: { type: 'local_ai', url: local.url }, openai: { type: 'openai', base_url: 'https://api.openai.com/v1' } } });
    const missing = await doctor(s.env(cloud.env));
    assert.equal(missing.code, 1, missing.out);
    line(missing.out, /^FAIL\s+providers\.openai key\s+OPENAI_API_KEY missing: required by providers\.openai \(type openai\)/);
    const key = 'sk-doctor-test-key-0123456789';
    const present = await doctor(s.env({ ...cloud.env, OPENAI_API_KEY: key }));
    assert.equal(present.code, 0, present.out);
    line(present.out, /^PASS\s+providers\.openai key\s+OPENAI_API_KEY set \(type openai\)$/);
    assert.ok(!present.out.includes(key));
  });

  it('another client holds the Stasis app: fails, and leaves that client registered', async () => {
    const s = await setup();
    const squatter = new WebSocket(`${peer.url.replace('http', 'ws')}/ari/events?app=${s.app}`, {
      headers: { authorization: `Basic ${Buffer.from(`ai-agent:${ARI_PASSWORD}`).toString('base64')}` },
    });
    try {
      await once(squatter, 'open');
      assert.ok(await peer.waitForApp(s.app, 2000));
      const { code, out } = await doctor(s.env());
      assert.equal(code, 1, out);
      line(out, new RegExp(`^FAIL\\s+Stasis app "${s.app}"\\s+already registered by another ARI client`));
      assert.match(fixAfter(out, /^FAIL\s+Stasis app/), /ARI_APP, and Stasis\(<name>\) in the dialplan/);
      assert.equal(peer.core.apps.has(s.app), true, 'the doctor never replaced it');
    } finally {
      squatter.close();
    }
  });

  it("reads the other engine's variable names (ASTERISK_HOST, ASTERISK_ARI_PORT, ...) and says so", async () => {
    const url = new URL(peer.url);
    const env = (await setup()).env({ ASTERISK_HOST: url.hostname, ASTERISK_ARI_PORT: url.port, ASTERISK_ARI_USERNAME: 'ai-agent', ASTERISK_ARI_PASSWORD: ARI_PASSWORD });
    for (const name of ['ARI_URL', 'ARI_USERNAME', 'ARI_PASSWORD']) delete env[name];
    const { code, out } = await doctor(env);
    assert.equal(code, 0, out);
    line(out, /^PASS\s+environment\s+ASTERISK_ARI_PASSWORD is read as ARI_PASSWORD/);
    line(out, /^PASS\s+environment\s+ASTERISK_HOST \+ ASTERISK_ARI_PORT is read as ARI_URL/);
    line(out, /^PASS\s+ARI\s+http:\/\/127\.0\.0\.1:\d+: Asterisk/);
  });
});
