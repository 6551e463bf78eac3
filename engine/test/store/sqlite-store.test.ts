import assert from 'node:assert/strict';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION, SchemaVersionError, migrate } from '../../src/store/migrations.ts';
import { callStoreCases, recordCall, t } from './helpers/call-store-cases.ts';
import { sqliteBackend } from './helpers/sqlite-backend.ts';

const backend = sqliteBackend();
const freshPath = backend.fresh;
const open = (path: string) => backend.open(path);

describe('SqliteCallStore', () => {
  callStoreCases(backend);

  it('uses WAL and creates the directory 0700 and the files 0600', async () => {
    const path = await freshPath();
    const store = open(path);
    recordCall(store, 'perm');
    await store.get('perm');
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL file inherits the database mode');
    const probe = new BetterSqlite3(path, { readonly: true });
    assert.equal(probe.pragma('journal_mode', { simple: true }), 'wal');
    probe.close();
    await store.close();
  });
});

describe('schema migrations', () => {
  it('brings a version-1 database to the latest version, keeping and backfilling its records', async () => {
    const path = await freshPath();
    const store = open(path);
    await store.close();
    rmSync(path);
    // A database as the first schema left it, with a call in it.
    const old = new BetterSqlite3(path);
    assert.deepEqual(migrate(old, 1), [1]);
    old.exec(`INSERT INTO calls (id, context, transport, codec, started_at, ended_at, outcome)
              VALUES ('v1-call', 'sales', 'rtp', 'ulaw', '${t(0)}', '${t(9)}', 'completed')`);
    old.exec(`INSERT INTO turns (call_id, seq, speaker, text, started_at, interrupted) VALUES
              ('v1-call', 1, 'agent', 'hi', '${t(1)}', 0), ('v1-call', 2, 'caller', 'hello', '${t(2)}', 0)`);
    old.exec(`INSERT INTO events (call_id, seq, kind, at, data) VALUES ('v1-call', 1, 'barge_in', '${t(3)}', '{"heardText":"h"}')`);
    old.close();

    const migrated = open(path);
    assert.equal((await migrated.list({ limit: 1 }))[0]!.turnCount, 2, 'turn count backfilled by migration 2');
    assert.equal((await migrated.get('v1-call'))!.turns.length, 2);
    migrated.addTurn('v1-call', { speaker: 'agent', text: 'bye', startedAt: t(4), interrupted: false });
    assert.equal((await migrated.list({ limit: 1 }))[0]!.turnCount, 3);
    await migrated.close();

    const probe = new BetterSqlite3(path, { readonly: true });
    const versions = probe.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>;
    assert.deepEqual(versions.map((v) => v.version), Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    assert.equal((probe.prepare("SELECT barge_in_count AS n FROM calls WHERE id = 'v1-call'").get() as { n: number }).n, 1);
    probe.close();
  });

  it('refuses a database from a newer engine and leaves it untouched', async () => {
    const path = await freshPath();
    await open(path).close();
    const db = new BetterSqlite3(path);
    db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)').run(LATEST_SCHEMA_VERSION + 1, 'future', t(0));
    db.close();
    assert.throws(() => open(path), SchemaVersionError);
    const probe = new BetterSqlite3(path, { readonly: true });
    const rows = probe.prepare('SELECT version FROM schema_version ORDER BY version').all() as Array<{ version: number }>;
    probe.close();
    assert.equal(rows.length, LATEST_SCHEMA_VERSION + 1);
    assert.equal(rows.at(-1)!.version, LATEST_SCHEMA_VERSION + 1);
  });
});
