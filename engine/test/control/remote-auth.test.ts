import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '@ai-agent/common';
import { canCreateNetns, createRemotePeer, startService, type RemotePeer, type ServiceProcess } from '@ai-agent/common/testing';
import { testConfig, type TestConfig } from './engine-config.ts';

const TOKEN = 'control-token-0123456789abcdef';
const SIGNING_SECRET = 'admin-ui-signing-secret-0123456789abcdef';

interface Reply { status: number; body: string }
interface RemoteInit { method?: string; headers?: Record<string, string>; body?: string }

/** Sends one request from inside the peer namespace, i.e. from a genuine non-loopback address. */
async function remote(peer: RemotePeer, url: string, init: RemoteInit): Promise<Reply> {
  const script = `const r = await fetch(${JSON.stringify(url)}, ${JSON.stringify(init)});
    process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() }));`;
  return JSON.parse(await peer.runNode(script)) as Reply;
}

describe('control routes from a real non-loopback caller', { skip: !(await canCreateNetns()) && 'needs root for ip netns' }, () => {
  let engine: ServiceProcess;
  let port: number;
  let config: TestConfig;

  before(async () => {
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
  });
  after(async () => {
    await engine?.stop();
    config?.remove();
  });

  /**
   * Runs `use` with a caller of its own: a fresh namespace, so a fresh source address. The engine limits
   * failures per source, so no test depends on (or is blocked by) the refusals of another.
   */
  async function fromRemote(use: (call: (path: string, init?: RemoteInit) => Promise<Reply>, peer: RemotePeer) => Promise<void>): Promise<void> {
    const peer = await createRemotePeer();
    try {
      await use((path, init = {}) => remote(peer, `http://${peer.hostAddress}:${port}${path}`, init), peer);
    } finally {
      await peer.destroy();
    }
  }

  /** The engine's log lines about refused control requests from `peer`. */
  const refusalsFrom = (peer: RemotePeer): Array<{ reason: string }> =>
    engine.stdout().split('\n').filter((l) => l.includes('control auth refused') && l.includes(`"${peer.peerAddress}"`)).map((l) => JSON.parse(l) as { reason: string });

  it('public routes answer anyone', () =>
    fromRemote(async (call) => {
      assert.equal((await call('/live')).status, 200);
    }));

  it('loopback caller without a token may reload', async () => {
    const r = await fetch(`http://127.0.0.1:${port}/reload`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal((await r.json() as { reloaded: boolean }).reloaded, true);
  });

  it('remote caller without a token is refused with a generic 401', () =>
    fromRemote(async (call) => {
      const r = await call('/reload', { method: 'POST' });
      assert.equal(r.status, 401);
      const body = JSON.parse(r.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['error', 'requestId']);
      assert.equal(body.error, 'unauthorized');
    }));

  it('a wrong token gets the same 401', () =>
    fromRemote(async (call) => {
      const r = await call('/reload', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` } });
      assert.equal(r.status, 401);
      assert.equal(JSON.parse(r.body).error, 'unauthorized');
    }));

  it('a spoofed X-Forwarded-For: 127.0.0.1 does not make a caller local', () =>
    fromRemote(async (call) => {
      const r = await call('/reload', {
        method: 'POST',
        headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1', host: '127.0.0.1' },
      });
      assert.equal(r.status, 401);
    }));

  it('the right token is accepted', () =>
    fromRemote(async (call) => {
      assert.equal((await call('/reload', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    }));

  it('a signed admin-ui request is accepted once; its replay is refused', () =>
    fromRemote(async (call) => {
      const body = '{}';
      const headers = { ...signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/reload', body }), 'content-type': 'application/json' };
      const first = await call('/reload', { method: 'POST', headers, body });
      assert.equal(first.status, 200, first.body);
      const replay = await call('/reload', { method: 'POST', headers, body });
      assert.equal(replay.status, 401);
      // A signature over another body fails too.
      const tampered = await call('/reload', {
        method: 'POST',
        headers: { ...signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/reload', body }), 'content-type': 'application/json' },
        body: '{"x":1}',
      });
      assert.equal(tampered.status, 401);
    }));

  it('logs the specific reason for each refusal and counts it, never the presented token', () =>
    fromRemote(async (call, peer) => {
      const signed = { ...signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/reload', body: '{}' }), 'content-type': 'application/json' };
      await call('/reload', { method: 'POST' });
      await call('/reload', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` } });
      await call('/reload', { method: 'POST', headers: signed, body: '{}' });
      await call('/reload', { method: 'POST', headers: signed, body: '{}' });
      await call('/reload', { method: 'POST', headers: { ...signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/reload', body: '{}' }), 'content-type': 'application/json' }, body: '{"x":1}' });
      assert.deepEqual(refusalsFrom(peer).map((l) => l.reason), ['missing_credentials', 'bad_token', 'replayed_nonce', 'bad_signature']);
      assert.ok(!engine.stdout().includes(`${TOKEN}x`), 'the presented token is never logged');
      const metrics = await call('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      for (const reason of ['missing_credentials', 'bad_token', 'replayed_nonce', 'bad_signature']) {
        assert.match(metrics.body, new RegExp(`ai_agent_control_auth_failures_total\\{reason="${reason}"\\} [1-9]`), reason);
      }
    }));

  it('operator routes answer a remote caller with the token', () =>
    fromRemote(async (call) => {
      const headers = { authorization: `Bearer ${TOKEN}` };
      const calls = await call('/calls', { headers });
      assert.equal(calls.status, 200);
      assert.deepEqual(JSON.parse(calls.body).active, []);
      const metrics = await call('/metrics', { headers });
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /# TYPE ai_agent_control_auth_failures_total counter/);
    }));

  it('operator routes (calls, metrics, config state, hangup) refuse a remote caller without a token', () =>
    fromRemote(async (call) => {
      for (const [method, path] of [['GET', '/calls'], ['POST', '/calls/some-call/hangup'], ['GET', '/metrics'], ['GET', '/config/state']]) {
        const r = await call(path!, { method: method! });
        assert.equal(r.status, 401, `${method} ${path}`);
        assert.equal(JSON.parse(r.body).error, 'unauthorized');
      }
    }));

  it('repeated failures from one address are refused early, without locking out a caller with the token', () =>
    fromRemote(async (call) => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await call('/reload', { method: 'POST', headers: { authorization: 'Bearer nope' } })).status);
      // The limit is 10 failures a minute per source: the 11th is refused early.
      assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
      const r = await call('/reload', { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(r.status, 200, 'a caller on the blocked address that holds the token is still served');
      const local = await fetch(`http://127.0.0.1:${port}/reload`, { method: 'POST' });
      assert.equal(local.status, 200, 'other callers are unaffected');
    }));
});
