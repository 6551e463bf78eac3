import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type PostgresServer } from '@ai-agent/common/testing';
import { SchemaVersionError } from '../../src/store/migrations.ts';
import { LATEST_POSTGRES_SCHEMA_VERSION } from '../../src/store/postgres-migrations.ts';
import { callStoreCases, recordCall, assertRecordedCall, t } from './helpers/call-store-cases.ts';
import { startCommitCuttingProxy } from './helpers/cutting-proxy.ts';
import { captureLog } from './helpers/log-capture.ts';
import { databaseOf, openPostgresStore, postgresBackend, withConnection } from './helpers/postgres-backend.ts';

// The PostgreSQL call store against a real server (the distribution's, started here as the `postgres` user on
// 127.0.0.1 with TLS): the cases every store passes, then what sharing a server database adds — engines
// starting together, each closing only its own calls, outages, a COMMIT whose answer is lost, TLS. Nothing here
// measures time (the contention cases, which do, are in postgres-lock.test.ts).

let server: PostgresServer;
before(async () => {
  server = await startPostgres({ tls: true });
});
after(async () => {
  await server?.destroy();
});

const backend = postgresBackend(() => server);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('PostgresCallStore', () => {
  callStoreCases(backend);
});

describe('PostgresCallStore shared by several engines', () => {
  it('migrates once when several engines start at the same moment; each one works', async () => {
    const url = await server.createDatabase();
    const stores = ['a', 'b', 'c', 'd'].map((id) => openPostgresStore(url, { engineId: `engine-${id}` }));
    try {
      await Promise.all(stores.map((store) => store.ready));
      stores.forEach((store, i) => store.begin({ id: `call-${i}`, context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(i) }));
      // A store's reads follow its own writes; the others' are waited for here.
      await Promise.all(stores.map((store, i) => store.get(`call-${i}`)));
      const lists = await Promise.all(stores.map((store) => store.list({ limit: 10 })));
      for (const list of lists) assert.deepEqual(list.map((c) => c.id), ['call-3', 'call-2', 'call-1', 'call-0']);
      const versions = await server.admin('SELECT version FROM schema_version ORDER BY version', databaseOf(url));
      assert.equal(versions, Array.from({ length: LATEST_POSTGRES_SCHEMA_VERSION }, (_, i) => String(i + 1)).join('\n'));
      assert.deepEqual(stores.map((s) => s.counters.writeErrors), [0, 0, 0, 0]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('refuses a database migrated by a newer engine, and leaves it untouched', async () => {
    const url = await server.createDatabase();
    await openPostgresStore(url).close();
    await server.admin(`INSERT INTO schema_version VALUES (${LATEST_POSTGRES_SCHEMA_VERSION + 1}, 'future', now())`, databaseOf(url));
    const store = openPostgresStore(url);
    await assert.rejects(store.ready, SchemaVersionError);
    store.begin({ id: 'x', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    await store.close();
    assert.equal(await server.admin('SELECT count(*) FROM calls', databaseOf(url)), '0');
    assert.equal(await server.admin('SELECT max(version) FROM schema_version', databaseOf(url)), String(LATEST_POSTGRES_SCHEMA_VERSION + 1));
  });

  it('at start closes only its own calls left open: another engine\'s live call stays open', async () => {
    const url = await server.createDatabase();
    const a = openPostgresStore(url, { engineId: 'engine-a' });
    const b = openPostgresStore(url, { engineId: 'engine-b' });
    a.begin({ id: 'a-crashed', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    b.begin({ id: 'b-live', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(1) });
    await Promise.all([a.get('a-crashed'), b.get('b-live')]);
    await a.close();

    // Engine a starts again while engine b is in a call.
    const restarted = openPostgresStore(url, { engineId: 'engine-a' });
    try {
      assert.equal(await restarted.closeAbandoned(t(30)), 1);
      assert.equal((await restarted.get('a-crashed'))!.outcome, 'error');
      const live = (await restarted.get('b-live'))!;
      assert.equal(live.endedAt, undefined, 'the other engine\'s call is not closed');
      b.addTurn('b-live', { speaker: 'caller', text: 'still here', startedAt: t(31), interrupted: false });
      b.finish('b-live', { endedAt: t(40), outcome: 'caller_hangup' });
      const ended = (await b.get('b-live'))!;
      assert.equal(ended.outcome, 'caller_hangup');
      assert.equal(ended.turns.length, 1);
    } finally {
      await Promise.all([restarted.close(), b.close()]);
    }
  });
});

describe('PostgresCallStore engine_id lease', () => {
  it('refuses a second engine with the same store.engine_id while the first runs, leaving its live call open; takes the id once the first is gone', async () => {
    const url = await server.createDatabase();
    const first = openPostgresStore(url, { engineId: 'engine-a' });
    first.begin({ id: 'a-live', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
    await first.get('a-live');

    const twin = openPostgresStore(url, { engineId: 'engine-a' });
    await assert.rejects(twin.ready, /store\.engine_id "engine-a" is in use by another running engine/);
    await twin.close();
    const other = openPostgresStore(url, { engineId: 'engine-b' });
    await other.ready;
    await other.close();
    assert.equal((await first.get('a-live'))!.endedAt, undefined, 'the running engine\'s call was closed');

    // The first engine's process dies: PostgreSQL ends its sessions, and with them the lease.
    await withConnection(url, (c) => c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ai-agent-engine engine-a%' AND pid <> pg_backend_pid()"));
    const restarted = openPostgresStore(url, { engineId: 'engine-a' });
    try {
      await restarted.ready;
      assert.equal(await restarted.closeAbandoned(t(30)), 1);
      assert.equal((await restarted.get('a-live'))!.outcome, 'error');
    } finally {
      await Promise.all([restarted.close(), first.close()]);
    }
  });
});

describe('PostgresCallStore batches', () => {
  it('a record the server refuses in a batch is refused alone; the others in its transaction are stored', async () => {
    const store = openPostgresStore(await server.createDatabase());
    try {
      await store.ready;
      store.begin({ id: 'b', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
      store.addTurn('b', { speaker: 'caller', text: 'before', startedAt: t(1), interrupted: false });
      // PostgreSQL text cannot hold a NUL character: the server refuses the statement and aborts the transaction.
      store.addTurn('b', { speaker: 'caller', text: 'nul \u0000 inside', startedAt: t(2), interrupted: false });
      store.addTurn('b', { speaker: 'agent', text: 'after', startedAt: t(3), interrupted: false });
      store.finish('b', { endedAt: t(4), outcome: 'completed' });
      const record = (await store.get('b'))!;
      assert.deepEqual(record.turns.map((turn) => turn.text), ['before', 'after']);
      assert.equal(record.outcome, 'completed');
      assert.equal(store.counters.writeErrors, 1);
    } finally {
      await store.close();
    }
  });
});

describe('PostgresCallStore with least privilege (the setup docs/scale-out.md describes)', () => {
  it('an owner role migrates; engines then run as a role that may only read and write rows', async () => {
    const pw = 'least-privilege-pass-0b1c';
    // As the operator sets it up: one database, a schema owned by the migrating role, rows for the engines.
    await server.admin(`CREATE ROLE calls_owner LOGIN PASSWORD '${pw}'; CREATE ROLE calls_engine LOGIN PASSWORD '${pw}'`);
    await server.admin('CREATE DATABASE calls OWNER calls_owner');
    await server.admin(`
      REVOKE ALL ON DATABASE calls FROM PUBLIC;
      GRANT CONNECT ON DATABASE calls TO calls_engine;
      CREATE SCHEMA ai_agent AUTHORIZATION calls_owner;
      GRANT USAGE ON SCHEMA ai_agent TO calls_engine;
      ALTER DEFAULT PRIVILEGES FOR ROLE calls_owner IN SCHEMA ai_agent GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO calls_engine;
      ALTER ROLE calls_owner IN DATABASE calls SET search_path = ai_agent;
      ALTER ROLE calls_engine IN DATABASE calls SET search_path = ai_agent;`, 'calls');
    const urlOf = (role: string): string => `postgresql://${role}:${pw}@127.0.0.1:${server.port}/calls`;

    const tooEarly = openPostgresStore(urlOf('calls_engine'));
    await assert.rejects(tooEarly.ready, /may not create or change the call tables/);
    await tooEarly.close();

    const owner = openPostgresStore(urlOf('calls_owner'));
    await owner.ready;
    await owner.close();

    const engine = openPostgresStore(urlOf('calls_engine'));
    try {
      await engine.ready;
      recordCall(engine, 'least');
      assertRecordedCall((await engine.get('least'))!);
      assert.equal(await engine.closeAbandoned(t(30)), 0);
      assert.equal(await engine.purgeEndedBefore('2030-01-01T00:00:00.000Z'), 1);
      assert.equal(engine.counters.writeErrors, 0);
      await assert.rejects(withConnection(urlOf('calls_engine'), (client) => client.query('DROP TABLE turns')), /must be owner/);
      assert.equal(await server.admin("SELECT count(*) FROM pg_tables WHERE schemaname = 'ai_agent'", 'calls'), '4', 'the tables are in the schema');
    } finally {
      await engine.close();
    }
  });
});

describe('PostgresCallStore when the database goes away', () => {
  it('keeps writes through an outage without blocking, refuses reads meanwhile, and stores everything once it is back', async () => {
    const url = await server.createDatabase();
    const { log, lines } = captureLog();
    const store = openPostgresStore(url, { log, limits: { retryMinMs: 100, retryMaxMs: 400 } });
    try {
      // A first call, so the timing below is the store's and not the first scrub of this process.
      recordCall(store, 'before-outage');
      await store.get('before-outage');
      await server.down();
      recordCall(store, 'through-outage');
      // Every write returned before anything was tried: queued, nothing waited on the database.
      assert.equal(store.pendingWrites(), 9);
      assert.equal(store.counters.writeRetries, 0);
      // The first attempt fails; from then on reads are refused rather than answered around waiting writes.
      while (store.counters.writeRetries === 0) await sleep(20);
      await assert.rejects(store.get('through-outage'), /call database is unavailable/);
      assert.equal(store.pendingWrites(), 9, 'kept, not dropped');
      await sleep(600);
      const retries = store.counters.writeRetries;
      assert.ok(retries >= 2, `retried with backoff: ${retries} attempts`);

      await server.up();
      let record;
      for (let i = 0; i < 100 && !record; i++) record = await store.get('through-outage').catch(() => sleep(100).then(() => undefined));
      assert.ok(record, 'the record was written once the database was back');
      assertRecordedCall(record);
      assert.equal(store.counters.writeErrors, 0);
      assert.equal(store.pendingWrites(), 0);
      assert.ok(lines.some((l) => l.level === 'warn' && /unavailable: records wait/.test(l.message)));
      assert.ok(lines.some((l) => l.level === 'info' && /available again/.test(l.message)));
      assert.ok(!lines.some((l) => l.json.includes(server.password)), 'the database password is never logged');
    } finally {
      await server.up().catch(() => undefined);
      await store.close();
    }
  });

  it('drops writes beyond its bound during an outage, counts them, and stores the ones it kept', async () => {
    const url = await server.createDatabase();
    const { log, lines } = captureLog();
    const store = openPostgresStore(url, { log, limits: { maxWaitingWrites: 5, retryMinMs: 100, retryMaxMs: 200 } });
    await store.ready;
    try {
      await server.down();
      store.begin({ id: 'bounded', context: 'c', transport: 'rtp', codec: 'ulaw', startedAt: t(0) });
      for (let i = 0; i < 9; i++) store.addTurn('bounded', { speaker: 'caller', text: `turn ${i}`, startedAt: t(1), interrupted: false });
      assert.equal(store.pendingWrites(), 5);
      assert.equal(store.counters.writeErrors, 5);
      await server.up();
      let record;
      for (let i = 0; i < 100 && !record; i++) record = await store.get('bounded').catch(() => sleep(100).then(() => undefined));
      assert.deepEqual(record?.turns.map((turn) => turn.text), ['turn 0', 'turn 1', 'turn 2', 'turn 3']);
      assert.equal(lines.filter((l) => /dropped: too many waiting/.test(l.message)).length, 1, 'one line for the drops, not one per record');
      assert.ok(lines.some((l) => /were dropped/.test(l.message) && l.json.includes('"dropped":5')));
    } finally {
      await server.up().catch(() => undefined);
      await store.close();
    }
  });

  it('counts writes lost when it closes while the database is still away, without hanging the shutdown', async () => {
    const url = await server.createDatabase();
    const store = openPostgresStore(url, { limits: { retryMinMs: 100, closeTimeoutMs: 500 } });
    await store.ready;
    try {
      await server.down();
      recordCall(store, 'lost');
      const started = performance.now();
      await store.close();
      const closeMs = performance.now() - started;
      assert.ok(closeMs < 3500, `close gave up after ${closeMs.toFixed(0)} ms`);
      assert.equal(store.counters.writeErrors, 9);
      assert.equal(store.pendingWrites(), 0);
    } finally {
      await server.up();
    }
  });

  it('neither loses nor repeats a batch whose COMMIT reached the server but whose answer was cut', async () => {
    const url = await server.createDatabase();
    await openPostgresStore(url).close();
    const proxy = await startCommitCuttingProxy({ host: server.host, port: server.port });
    const proxied = new URL(url);
    proxied.port = String(proxy.port);
    const store = openPostgresStore(proxied.toString(), { limits: { retryMinMs: 100 } });
    try {
      await store.ready;
      const cut = proxy.cutNextCommit();
      recordCall(store, 'cut');
      await cut;
      let record;
      for (let i = 0; i < 100 && !record; i++) record = await store.get('cut').catch(() => sleep(50).then(() => undefined));
      assert.ok(record);
      assertRecordedCall(record);
      assert.ok(store.counters.writeRetries >= 1, 'the batch was looked at again');
      assert.equal(store.counters.writeErrors, 0, 'no write was refused as a duplicate');
      assert.equal(await server.admin("SELECT count(*) FROM turns WHERE call_id = 'cut'", databaseOf(url)), '3');
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});

describe('PostgresCallStore over TLS', () => {
  const withParams = (url: string, params: string): string => `${url}?${params}`;
  const sslOfEngine = (database: string, engineId: string): Promise<string> =>
    server.admin(`SELECT coalesce(bool_and(s.ssl)::text, 'none') FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
                  WHERE a.application_name = 'ai-agent-engine ${engineId}' AND a.datname = '${database}'`);

  it('connects with sslmode=verify-full against the server\'s CA, encrypted', async () => {
    const url = await server.createDatabase();
    const store = openPostgresStore(withParams(url, `sslmode=verify-full&sslrootcert=${encodeURIComponent(server.caFile!)}`), { engineId: 'tls-full' });
    try {
      await store.ready;
      recordCall(store, 'tls');
      assertRecordedCall((await store.get('tls'))!);
      assert.equal(await sslOfEngine(databaseOf(url), 'tls-full'), 'true');
    } finally {
      await store.close();
    }
  });

  it('refuses to start when the server certificate does not verify (a CA it does not trust)', async () => {
    const url = await server.createDatabase();
    const store = openPostgresStore(withParams(url, 'sslmode=verify-full'), { engineId: 'tls-untrusted' });
    await assert.rejects(store.ready, (err: Error & { code?: string }) => /CERT|SELF_SIGNED|UNABLE_TO/.test(err.code ?? ''));
    await store.close();
  });

  it('without TLS to loopback, the connection is plain (what sslmode=disable means)', async () => {
    const url = await server.createDatabase();
    const store = openPostgresStore(url, { engineId: 'plain' });
    try {
      await store.ready;
      await store.list({ limit: 1 });
      assert.equal(await sslOfEngine(databaseOf(url), 'plain'), 'false');
    } finally {
      await store.close();
    }
  });
});

describe('PostgresCallStore reads what another connection wrote', () => {
  it('is one history: a call written by one engine is read by another', async () => {
    const url = await server.createDatabase();
    const a = openPostgresStore(url, { engineId: 'engine-a' });
    const b = openPostgresStore(url, { engineId: 'engine-b' });
    try {
      recordCall(a, 'from-a');
      await a.get('from-a');
      assertRecordedCall((await b.get('from-a'))!);
      const owner = await withConnection(url, async (client) => (await client.query("SELECT engine_id FROM calls WHERE id = 'from-a'")).rows[0]);
      assert.deepEqual(owner, { engine_id: 'engine-a' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
