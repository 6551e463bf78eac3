import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { loadEngineConfig } from '../../src/config/runtime-config.ts';
import { buildOperations, type EngineOperations } from '../../src/control/operations.ts';
import { Readiness } from '../../src/control/readiness.ts';
import { startControl, testLog, type Harness } from './control-harness.ts';
import { testConfig, type TestConfig } from './engine-config.ts';
import { FakeRegistry } from './fake-registry.ts';

/** The operations graph as main builds it, with a test registry standing in for telephony. */
describe('EngineOperations', () => {
  let config: TestConfig;
  let ops: EngineOperations;
  let harness: Harness;
  const readiness = new Readiness();
  let registry: FakeRegistry;

  before(async () => {
    config = testConfig({ limits: { max_concurrent_calls: 2, per_context: { sales: 1 }, drain_timeout_seconds: 0, drain_message: 'Closing now, goodbye.' } });
    const load = () => loadEngineConfig({ AI_AGENT_CONFIG: config.file });
    harness = await startControl((guard) => {
      ops = buildOperations({ log: testLog, config: load(), loadConfig: load, guard, readiness });
      return ops.routes();
    }, readiness);
    registry = new FakeRegistry(ops.store, 20);
    ops.attachRegistry(registry);
    ops.start();
  });
  after(async () => {
    await harness.close();
    config.remove();
  });

  it('admits within the configured limits, and a reload applies to the next call only', async () => {
    const first = ops.admission.tryAdmit('sales');
    assert.equal(first.admit, true);
    assert.equal(ops.admission.tryAdmit('sales').admit, false);
    const snapshotOfCall = ops.config.current();
    config.write({ limits: { max_concurrent_calls: 2, per_context: { sales: 2 }, drain_timeout_seconds: 0, drain_message: 'Closing now, goodbye.' } });
    const r = await fetch(`${harness.base}/reload`, { method: 'POST' });
    assert.equal(r.status, 200);
    assert.equal(ops.admission.tryAdmit('sales').admit, true, 'the new per-context limit applies');
    assert.equal(snapshotOfCall.config.limits.per_context.sales, 1, 'the call in progress keeps its config');
  });

  it('drain: /ready 503 and admission closed at once; late calls hung up with the message, recorded; store closed last', async () => {
    registry.add({ id: 'late-1', context: 'sales', callerNumber: '+15551112222' });
    registry.add({ id: 'late-2', context: 'support' });
    const draining = ops.shutdown({ closers: [] });
    const ready = await fetch(`${harness.base}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(((await ready.json()) as { waiting: string[] }).waiting, ['draining']);
    assert.deepEqual(ops.admission.tryAdmit('support'), { admit: false, reason: 'draining', message: 'sound:all-circuits-busy-now' });
    const report = await draining;
    assert.deepEqual(report, { activeAtStart: 2, hungUp: 2, abandoned: 0 });
    assert.deepEqual(registry.hangups.map((h) => [h.id, h.reason, h.message]), [
      ['late-1', 'drain', 'Closing now, goodbye.'],
      ['late-2', 'drain', 'Closing now, goodbye.'],
    ]);
    // The records were flushed before the store closed, the caller's number masked by the store. (What a real
    // call hears and records when drained is engine/test/e2e/drain.test.ts: this registry is a stand-in.)
    const db = new BetterSqlite3(config.storePath, { readonly: true });
    const rows = db.prepare('SELECT id, caller_number, ended_at IS NOT NULL AS ended FROM calls ORDER BY id').all();
    db.close();
    assert.deepEqual(rows, [
      { id: 'late-1', caller_number: '***2222', ended: 1 },
      { id: 'late-2', caller_number: null, ended: 1 },
    ]);
    // Closed: a late write is refused, not thrown.
    assert.doesNotThrow(() => ops.store.addEvent('late-1', { kind: 'dtmf', at: new Date().toISOString(), digits: '1' }));
  });
});
