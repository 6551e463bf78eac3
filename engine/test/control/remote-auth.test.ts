import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '@ai-agent/common';
import { canCreateNetns, createRemotePeer, startService, type RemotePeer, type ServiceProcess } from '@ai-agent/common/testing';
import { testConfig, type TestConfig } from './engine-config.ts';

const TOKEN = 'control-token-0123456789abcdef';
const SIGNING_SECRET = 'admin-ui-signing-secret-0123456789abcdef';

interface Reply { status: number; body: string }

/** Sends one request from inside the peer namespace, i.e. from a genuine non-loopback address. */
async function remote(peer: RemotePeer, url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  const script = `const r = await fetch(${JSON.stringify(url)}, ${JSON.stringify(init)});
    process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() }));`;
  return JSON.parse(await peer.runNode(script)) as Reply;
}

describe('control routes from a real non-loopback caller', { skip: !(await canCreateNetns()) && 'needs root for ip netns' }, () => {
  let peer: RemotePeer;
  let engine: ServiceProcess;
  let port: number;
  let base: string;
  let config: TestConfig;

  before(async () => {
    peer = await createRemotePeer();
    config = testConfig();
    engine = startService('engine/src/main.ts', {
      ...config.env,
      HEALTH_PORT: '0',
      HEALTH_BIND_HOST: '0.0.0.0',
      HEALTH_API_TOKEN: TOKEN,
      SERVICE_SECRET_ADMIN_UI: SIGNING_SECRET,
    });
    const line = await engine.waitFor(/engine control server listening/);
    port = (JSON.parse(line) as { address: { port: number } }).address.port;
    base = `http://${peer.hostAddress}:${port}`;
  });
  after(async () => {
    await engine?.stop();
    await peer?.destroy();
    config?.remove();
  });

  it('public routes answer anyone', async () => {
    const r = await remote(peer, `${base}/live`, {});
    assert.equal(r.status, 200);
  });

  it('loopback caller without a token may reload', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/reload`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal((await r.json() as { reloaded: boolean }).reloaded, true);
  });

  it('remote caller without a token is refused with a generic 401', async () => {
    const r = await remote(peer, `${base}/reload`, { method: 'POST' });
    assert.equal(r.status, 401);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'requestId']);
    assert.equal(body.error, 'unauthorized');
  });

  it('a wrong token gets the same 401', async () => {
    const r = await remote(peer, `${base}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(r.status, 401);
    assert.equal(JSON.parse(r.body).error, 'unauthorized');
  });

  it('a spoofed X-Forwarded-For: 127.0.0.1 does not make a caller local', async () => {
    const r = await remote(peer, `${base}/reload`, {
      method: 'POST',
      headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1', host: '127.0.0.1' },
    });
    assert.equal(r.status, 401);
  });

  it('the right token is accepted', async () => {
    const r = await remote(peer, `${base}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200);
  });

  it('a signed admin-ui request is accepted once; its replay is refused', async () => {
    const body = '{}';
    const headers = { ...signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/reload', body }), 'content-type': 'application/json' };
    const first = await remote(peer, `${base}/reload`, { method: 'POST', headers, body });
    assert.equal(first.status, 200, first.body);
    const replay = await remote(peer, `${base}/reload`, { method: 'POST', headers, body });
    assert.equal(replay.status, 401);
    // A signature by a service that is not allowed, or over another body, fails too.
    const tampered = await remote(peer, `${base}/reload`, {
      method: 'POST',
      headers: { ...signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/reload', body }), 'content-type': 'application/json' },
      body: '{"x":1}',
    });
    assert.equal(tampered.status, 401);
  });

  it('logs the specific reason for each refusal, never the presented token', async () => {
    const reasons = engine.stdout().split('\n').filter((l) => l.includes('control auth refused')).map((l) => JSON.parse(l).reason as string);
    for (const r of ['missing_credentials', 'bad_token', 'replayed_nonce', 'bad_signature']) assert.ok(reasons.includes(r), `${r} in ${reasons}`);
    assert.ok(!engine.stdout().includes(TOKEN));
  });

  it('operator routes answer a remote caller with the token', async () => {
    const headers = { authorization: `Bearer ${TOKEN}` };
    const calls = await remote(peer, `${base}/calls`, { headers });
    assert.equal(calls.status, 200);
    assert.deepEqual(JSON.parse(calls.body).active, []);
    const metrics = await remote(peer, `${base}/metrics`, { headers });
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /# TYPE ai_agent_control_auth_failures_total counter/);
    assert.match(metrics.body, /ai_agent_control_auth_failures_total\{reason="missing_credentials"\} \d+/);
  });

  it('operator routes (calls, metrics, config state, hangup) refuse a remote caller without a token', async () => {
    // Four probes: with the refusals above this stays under the per-address failure limit (10 a minute).
    for (const [method, path] of [['GET', '/calls'], ['POST', '/calls/some-call/hangup'], ['GET', '/metrics'], ['GET', '/config/state']]) {
      const r = await remote(peer, `${base}${path}`, { method });
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.equal(JSON.parse(r.body).error, 'unauthorized');
    }
  });

  it('repeated failures from one address are refused early, without locking out a caller with the token', async () => {
    let last: Reply | undefined;
    for (let i = 0; i < 12; i++) last = await remote(peer, `${base}/reload`, { method: 'POST', headers: { authorization: 'Bearer nope' } });
    assert.equal(last!.status, 429);
    const r = await remote(peer, `${base}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(r.status, 200, 'a caller on the blocked address that holds the token is still served');
    const local = await fetch(`http://127.0.0.1:${port}/reload`, { method: 'POST' });
    assert.equal(local.status, 200, 'other callers are unaffected');
  });
});
