import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { createLogger } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { SqliteCallStore } from '../../../src/store/sqlite-store.ts';
import { policy, type StoreBackend } from './store-backend.ts';

const log = createLogger({ service: 'store-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Another process: takes the database's write lock, says `locked`, holds it for HOLD_MS and exits. */
const LOCKER = `
const db = new (require('better-sqlite3'))(process.env.DB);
db.exec('BEGIN EXCLUSIVE');
console.log('locked');
setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.env.HOLD_MS));
`;

/** The embedded store: each database a file in a nested folder of this test file's temporary directory. */
export function sqliteBackend(): StoreBackend {
  const root = mkdtempSync(join(tmpdir(), 'call-store-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let counter = 0;
  return {
    name: 'SQLite',
    fresh: async () => join(root, `dir${++counter}`, 'nested', 'calls.sqlite'),
    open: (path, options) => new SqliteCallStore({ path, redaction: options?.redaction ?? policy(), log }),
    stored: async (path) => readFileSync(path).toString('latin1'),
    async probe(path) {
      const db = new BetterSqlite3(path, { readonly: true });
      return {
        callsWithPrefix: async (prefix) => (db.prepare('SELECT count(*) AS n FROM calls WHERE id LIKE ?').get(`${prefix}%`) as { n: number }).n,
        rowsOf: async (table, callId) => (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE call_id = ?`).get(callId) as { n: number }).n,
        close: async () => void db.close(),
      };
    },
    async lockWrites(path, holdMs) {
      const child = spawn(process.execPath, ['-e', LOCKER], { cwd: REPO_ROOT, env: { ...process.env, DB: path, HOLD_MS: String(holdMs) } });
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      assert.equal(line, 'locked');
      return performance.now();
    },
    async seedEndedCalls(path, count) {
      const db = new BetterSqlite3(path);
      const insert = db.prepare(`INSERT INTO calls (id, context, transport, codec, started_at, ended_at, outcome) VALUES (?, 'c', 'rtp', 'ulaw', ?, ?, 'completed')`);
      const turn = db.prepare(`INSERT INTO turns (call_id, seq, speaker, text, started_at, interrupted) VALUES (?, ?, 'caller', 'old words', ?, 0)`);
      db.transaction(() => {
        for (let i = 0; i < count; i++) {
          insert.run(`old-${i}`, '2025-01-01T00:00:00.000Z', '2025-01-01T00:01:00.000Z');
          for (let seq = 1; seq <= 5; seq++) turn.run(`old-${i}`, seq, '2025-01-01T00:00:30.000Z');
        }
      })();
      db.close();
    },
  };
}
