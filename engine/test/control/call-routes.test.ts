import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callRoutes } from '../../src/control/routes/call-routes.ts';
import { SqliteCallStore } from '../../src/store/sqlite-store.ts';
import { startControl, testLog, type Harness } from './control-harness.ts';
import { FakeRegistry } from './fake-registry.ts';

describe('call routes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'call-routes-'));
  const store = new SqliteCallStore({ path: join(dir, 'calls.sqlite'), redaction: { toolArguments: () => 'redacted', showPhoneNumbers: () => false }, log: testLog });
  const registry = new FakeRegistry(store);
  let harness: Harness;
  const get = async (path: string) => {
    const r = await fetch(harness.base + path);
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  before(async () => {
    harness = await startControl(() => [callRoutes({ registry: () => registry, store, log: testLog })]);
    for (let i = 0; i < 3; i++) {
      registry.add({ id: `ended-${i}`, context: 'sales', callerNumber: '+15557770000' });
      registry.end(`ended-${i}`, 'completed');
    }
    registry.add({ id: 'live-1', context: 'support', callerNumber: '+15559876543', callerName: 'Zed' });
  });
  after(async () => {
    await harness.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /calls lists live calls (numbers masked) and recent records, newest first, with paging', async () => {
    const { status, body } = await get('/calls?limit=2');
    assert.equal(status, 200);
    assert.deepEqual(body.active.map((c: any) => [c.id, c.context, c.callerNumber, c.state]), [['live-1', 'support', '***6543', 'listening']]);
    assert.equal(body.recent.length, 2);
    assert.ok(body.recent.every((c: any) => c.callerNumber === undefined || c.callerNumber.startsWith('***')));
    assert.ok(!JSON.stringify(body).includes('5559876543'));
    const next = await get(`/calls?limit=10&before=${encodeURIComponent(body.nextBefore)}`);
    assert.equal(next.body.recent.length + body.recent.length, 4, 'the pages together hold every record once');
  });

  it('GET /calls filters the records in the store: context, outcome, caller (masked digits), time', async () => {
    const ids = async (q: string): Promise<string[]> => (await get(`/calls?limit=10&${q}`)).body.recent.map((c: any) => c.id).sort();
    assert.deepEqual(await ids('context=sales'), ['ended-0', 'ended-1', 'ended-2']);
    assert.deepEqual(await ids('outcome=in_progress'), ['live-1']);
    assert.deepEqual(await ids('outcome=completed&context=support'), []);
    assert.deepEqual(await ids('caller=6543'), ['live-1']);
    assert.deepEqual(await ids('caller=5559876543'), [], 'the digits the record masks are not searchable');
    assert.deepEqual(await ids(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`), []);
    assert.equal((await ids(`to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 4);
  });

  it('rejects a bad query with a generic 400', async () => {
    for (const q of ['limit=0', 'limit=5000', 'limit=ten', 'before=not%20an%20id', 'from=yesterday', 'outcome=exploded', 'caller=', `context=${'x'.repeat(65)}`]) {
      const { status, body } = await get(`/calls?${q}`);
      assert.equal(status, 400, q);
      assert.deepEqual(Object.keys(body).sort(), ['error', 'requestId']);
    }
  });

  it('GET /calls/:id gives live state and the stored record; 404 for an unknown id', async () => {
    const live = await get('/calls/live-1');
    assert.equal(live.status, 200);
    assert.equal(live.body.active.state, 'listening');
    assert.equal(live.body.record.id, 'live-1');
    const ended = await get('/calls/ended-0');
    assert.equal(ended.body.active, null);
    assert.equal(ended.body.record.outcome, 'completed');
    assert.equal((await get('/calls/nope')).status, 404);
    assert.equal((await get('/calls/bad%20id')).status, 400);
  });

  it('POST /calls/:id/hangup hangs up a live call; 404 for one that is not live', async () => {
    const r = await fetch(`${harness.base}/calls/live-1/hangup`, { method: 'POST' });
    assert.equal(r.status, 202);
    assert.deepEqual(registry.hangups, [{ id: 'live-1', reason: 'operator', message: undefined }]);
    const again = await fetch(`${harness.base}/calls/ended-1/hangup`, { method: 'POST' });
    assert.equal(again.status, 404);
  });
});
