import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startService, type ServiceProcess } from '@ai-agent/common/testing';
import { testConfig, type TestConfig } from './engine-config.ts';
import { parseExposition } from './prometheus-text.ts';

const ENGINE = 'engine/src/main.ts';

describe('engine operations, as a real process', () => {
  let config: TestConfig;
  let engine: ServiceProcess;
  let base: string;
  const json = async (path: string, init?: RequestInit) => {
    const r = await fetch(base + path, init);
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  before(async () => {
    config = testConfig({ limits: { max_concurrent_calls: 10 } });
    engine = startService(ENGINE, { HEALTH_PORT: '0', ...config.env });
    const line = await engine.waitFor(/engine control server listening/);
    base = `http://127.0.0.1:${(JSON.parse(line) as { address: { port: number } }).address.port}`;
  });
  after(async () => {
    await engine?.stop();
    config?.remove();
  });

  it('opens its call store where configured, private to its user', () => {
    assert.equal(statSync(config.storePath).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(config.storePath)).mode & 0o777, 0o700);
  });

  it('serves /metrics and /calls to a loopback caller', async () => {
    const r = await fetch(`${base}/metrics`);
    assert.equal(r.status, 200);
    const exposition = parseExposition(await r.text());
    assert.ok(exposition.types.has('ai_agent_calls_total'));
    assert.ok(exposition.types.has('nodejs_eventloop_lag_seconds'));
    const calls = await json('/calls');
    assert.equal(calls.status, 200);
    assert.deepEqual(calls.body.active, []);
  });

  it('a reload with a bad value changes nothing and names the key', async () => {
    const state = await json('/config/state');
    config.write({ limits: { max_concurrent_calls: 0 } });
    const r = await json('/reload', { method: 'POST' });
    assert.equal(r.status, 400);
    assert.equal(r.body.key, 'limits.max_concurrent_calls');
    assert.match(r.body.reason, /1/);
    const after = await json('/config/state');
    assert.deepEqual(after.body.running, state.body.running, 'the running config is unchanged');
    assert.equal(after.body.onDisk.error.key, 'limits.max_concurrent_calls');
  });

  it('a valid reload switches the running config and lists the changed keys', async () => {
    config.write({ limits: { max_concurrent_calls: 4, per_context: { sales: 2 } } });
    const pending = await json('/config/state');
    assert.deepEqual(pending.body.differs, ['limits.max_concurrent_calls', 'limits.per_context.sales']);
    const r = await json('/reload', { method: 'POST' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { reloaded: true, version: 2, changed: ['limits.max_concurrent_calls', 'limits.per_context.sales'], restartRequired: [] });
    const state = await json('/config/state');
    assert.equal(state.body.running.version, 2);
    assert.deepEqual(state.body.differs, []);
    assert.equal(state.body.onDisk.hash, state.body.running.hash);
  });

  it('a changed listener port is reported as needing a restart; the listener keeps serving', async () => {
    config.write({ limits: { max_concurrent_calls: 4, per_context: { sales: 2 } }, control: { port: 15999 } });
    const r = await json('/reload', { method: 'POST' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.changed, ['control.port']);
    assert.deepEqual(r.body.restartRequired, ['control']);
    assert.equal((await fetch(`${base}/live`)).status, 200);
  });

  it('SIGTERM with no calls: drains, folds the WAL into the database, exits 0', async () => {
    engine.child.kill('SIGTERM');
    assert.equal(await engine.exited, 0, engine.stderr());
    assert.match(engine.stdout(), /"msg":"drained"/);
    assert.ok(!existsSync(`${config.storePath}-wal`), 'the store was checkpointed and closed');
  });
});

describe('a reload changes the auth failure limit of the running process', () => {
  const TOKEN = 'reload-limit-token-0123456789';
  let config: TestConfig;
  let engine: ServiceProcess;
  let base: string;

  before(async () => {
    config = testConfig({ control: { auth_failures_per_minute: 50 } });
    // Loopback is not trusted here, so the test's own requests are judged by token like a remote caller's.
    engine = startService(ENGINE, { HEALTH_PORT: '0', HEALTH_API_TOKEN: TOKEN, HEALTH_TRUST_LOOPBACK: 'false', ...config.env });
    const line = await engine.waitFor(/engine control server listening/);
    base = `http://127.0.0.1:${(JSON.parse(line) as { address: { port: number } }).address.port}`;
  });
  after(async () => {
    await engine?.stop();
    config?.remove();
  });

  it('after lowering control.auth_failures_per_minute to 2, the third bad token is refused as rate-limited', async () => {
    config.write({ control: { auth_failures_per_minute: 2 } });
    const reload = await fetch(`${base}/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(reload.status, 200, await reload.text());
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${base}/calls`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status);
    assert.deepEqual(statuses, [401, 401, 429]);
  });
});
