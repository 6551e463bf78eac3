import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startService } from '@ai-agent/common/testing';
import { drain } from '../../src/control/lifecycle/drain.ts';
import { SqliteCallStore } from '../../src/store/sqlite-store.ts';
import { testLog } from './control-harness.ts';
import { FakeRegistry } from './fake-registry.ts';

const FIXTURE = 'engine/test/control/fixtures/drain-process.ts';
const dir = mkdtempSync(join(tmpdir(), 'drain-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const dbPath = (): string => join(dir, `calls-${++n}.sqlite`);

describe('drain', () => {
  it('stops admission first, lets a call end by itself, hangs up the rest with the message, then closes in order', async () => {
    const store = new SqliteCallStore({ path: dbPath(), redaction: { toolArguments: () => 'none', showPhoneNumbers: () => false }, log: testLog });
    const registry = new FakeRegistry(store, 30);
    for (const id of ['a', 'b', 'c']) registry.add({ id });
    const order: string[] = [];
    setTimeout(() => registry.end('a', 'caller_hangup'), 50);
    const report = await drain({
      registry,
      stopAccepting: () => order.push(`stop accepting with ${registry.count()} calls`),
      timeoutMs: 300,
      message: 'bye now',
      hangupGraceMs: 1000,
      closers: [
        { name: 'listeners', close: () => { order.push(`listeners closed with ${registry.count()} calls`); } },
        { name: 'failing', close: () => { throw new Error('already closed'); } },
        { name: 'store', close: () => { order.push('store closed'); return store.close(); } },
      ],
      log: testLog,
      pollMs: 10,
    });
    assert.deepEqual(report, { activeAtStart: 3, hungUp: 2, abandoned: 0 });
    assert.deepEqual(order, ['stop accepting with 3 calls', 'listeners closed with 0 calls', 'store closed']);
    assert.deepEqual(registry.hangups.map((h) => [h.id, h.reason, h.message]), [['b', 'drain', 'bye now'], ['c', 'drain', 'bye now']]);
  });

  it('does not wait for ever on a hangup that never completes', async () => {
    const registry = new FakeRegistry(undefined, 60_000);
    registry.add({ id: 'stuck' });
    const started = Date.now();
    const report = await drain({ registry, stopAccepting: () => undefined, timeoutMs: 50, message: 'bye', hangupGraceMs: 200, closers: [], log: testLog, pollMs: 10 });
    assert.deepEqual(report, { activeAtStart: 1, hungUp: 1, abandoned: 1 });
    assert.ok(Date.now() - started < 5000);
  });
});

// A real engine's SIGTERM drain, calls and all, is engine/test/e2e/drain.test.ts; this fixture process (onShutdownSignals
// + drain with a stand-in registry) pins the signal handling.
describe('SIGTERM drain of a real process', () => {
  it('a second SIGTERM exits at once, without waiting for the drain', async () => {
    const proc = startService(FIXTURE, { STORE_PATH: dbPath(), CALLS: '2', DRAIN_TIMEOUT_MS: '60000' });
    await proc.waitFor(/fixture ready/);
    proc.child.kill('SIGTERM');
    await proc.waitFor(/draining: no new calls/);
    const sent = Date.now();
    proc.child.kill('SIGTERM');
    assert.equal(await proc.exited, 1);
    assert.ok(Date.now() - sent < 3000, 'exited promptly');
    assert.match(proc.stdout(), /second signal: exiting now/);
  });
});
