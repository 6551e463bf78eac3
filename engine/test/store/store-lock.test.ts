import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createLogger } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { Pacer } from '../../src/audio/pacer.ts';
import { PURGE_BATCH } from '../../src/store/call-database.ts';
import { SqliteCallStore } from '../../src/store/sqlite-store.ts';

const log = createLogger({ service: 'store-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const root = mkdtempSync(join(tmpdir(), 'call-store-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dbCounter = 0;
const freshPath = (): string => join(root, `db${++dbCounter}`, 'calls.sqlite');
const open = (path: string): SqliteCallStore =>
  new SqliteCallStore({ path, redaction: { toolArguments: () => 'redacted', showPhoneNumbers: () => false }, log });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Another process: takes the database's write lock, says `locked`, holds it for HOLD_MS and exits. */
const LOCKER = `
const db = new (require('better-sqlite3'))(process.env.DB);
db.exec('BEGIN EXCLUSIVE');
console.log('locked');
setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.env.HOLD_MS));
`;

/** Resolves once the lock is held, to the time it was. */
async function lockDatabase(path: string, holdMs: number): Promise<number> {
  const child = spawn(process.execPath, ['-e', LOCKER], { cwd: REPO_ROOT, env: { ...process.env, DB: path, HOLD_MS: String(holdMs) } });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  assert.equal(line, 'locked');
  return performance.now();
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

const at = (second: number): string => new Date(Date.UTC(2026, 0, 1, 12, 0, second)).toISOString();

describe('call store under a locked database', () => {
  it('keeps the pacer on time while another process holds the write lock for 2 s, and writes everything once it is released', async (t) => {
    const path = freshPath();
    const store = open(path);
    store.begin({ id: 'call', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: at(0) });
    await store.get('call');
    const pacer = new Pacer();
    const tickTimes: number[] = [];
    const removeSink = pacer.add({ sendTick: () => void tickTimes.push(performance.now()), receiveTick: () => undefined });
    try {
      const lockedAt = await lockDatabase(path, 2000);
      const first = pacer.stats.ticks;
      const lastBefore = tickTimes.length - 1;
      const skippedBefore = pacer.stats.skippedTicks;
      // A call's records as it goes on: a turn and an event every 50 ms while the database is locked.
      let written = 0;
      for (; written < 30; written++) {
        store.addTurn('call', { speaker: 'caller', text: `turn ${written}`, startedAt: at(1), interrupted: false });
        store.addEvent('call', { kind: 'dtmf', at: at(1), digits: '1' });
        await sleep(50);
      }
      // Answered after every write above: once the lock is gone.
      const record = await store.get('call');
      const readAfter = performance.now() - lockedAt;
      const lateness = Array.from({ length: pacer.stats.ticks - first }, (_, i) => pacer.lateness[(first + i) & (pacer.lateness.length - 1)]!);
      const times = tickTimes.slice(lastBefore);
      const longestGap = Math.max(...times.slice(1).map((time, i) => time - times[i]!));
      const skipped = pacer.stats.skippedTicks - skippedBefore;
      t.diagnostic(`${lateness.length} ticks during the lock: lateness p50 ${percentile(lateness, 50).toFixed(2)} ms, ` +
        `p99 ${percentile(lateness, 99).toFixed(2)} ms; longest gap between ticks ${longestGap.toFixed(1)} ms, ${skipped} skipped`);

      assert.ok(readAfter >= 1900, `the writes waited for the lock: stored ${readAfter.toFixed(0)} ms after it was taken`);
      assert.equal(record?.turns.length, written, 'every turn written during the lock is stored');
      assert.equal(record?.events.length, written, 'every event written during the lock is stored');
      assert.equal(store.counters.writeErrors, 0);
      // Waiting on the lock on the event loop would stop the clock for the whole 2 s (its ticks skipped, not
      // late). The bounds leave room for the machine's own noise only.
      assert.ok(lateness.length >= 70, `ticks ${lateness.length}`);
      assert.ok(percentile(lateness, 50) <= 2, `median lateness ${percentile(lateness, 50).toFixed(2)} ms`);
      assert.ok(longestGap < 250, `no tick for ${longestGap.toFixed(1)} ms`);
      assert.ok(skipped < 10, `skipped ${skipped} ticks`);
    } finally {
      removeSink();
      await store.close();
    }
  });

  it('purges in bounded batches: a write made during a large purge lands before the purge ends', async (t) => {
    const path = freshPath();
    await open(path).close();
    const calls = PURGE_BATCH * 20;
    const db = new BetterSqlite3(path);
    const insert = db.prepare(`INSERT INTO calls (id, context, transport, codec, started_at, ended_at, outcome) VALUES (?, 'c', 'rtp', 'ulaw', ?, ?, 'completed')`);
    const turn = db.prepare(`INSERT INTO turns (call_id, seq, speaker, text, started_at, interrupted) VALUES (?, ?, 'caller', 'old words', ?, 0)`);
    db.transaction(() => {
      for (let i = 0; i < calls; i++) {
        insert.run(`old-${i}`, '2025-01-01T00:00:00.000Z', '2025-01-01T00:01:00.000Z');
        for (let seq = 1; seq <= 5; seq++) turn.run(`old-${i}`, seq, '2025-01-01T00:00:30.000Z');
      }
    })();
    db.close();

    const store = open(path);
    const probe = new BetterSqlite3(path, { readonly: true });
    const expired = probe.prepare("SELECT count(*) AS n FROM calls WHERE id LIKE 'old-%'");
    try {
      await store.list({ limit: 1 });
      const purge = store.purgeEndedBefore('2026-01-01T00:00:00.000Z');
      // Sent once the purge has visibly begun (its first batch committed): behind one DELETE of every expired
      // call, it would wait for all of them. A write that arrives with the purge request goes first by design.
      while ((expired.get() as { n: number }).n === calls) await sleep(1);
      store.begin({ id: 'new', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: at(0) });
      const left = await store.get('new').then((record) => {
        assert.ok(record);
        return (expired.get() as { n: number }).n;
      });
      t.diagnostic(`expired calls still there when the write landed: ${left} of ${calls}`);
      assert.ok(left > 0 && left < calls, `${left} expired calls left when the write landed`);
      assert.equal(await purge, calls);
      assert.deepEqual((await store.list({ limit: 10 })).map((c) => c.id), ['new']);
    } finally {
      probe.close();
      await store.close();
    }
  });
});
