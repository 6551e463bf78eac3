import pg from 'pg';
import { createLogger, type Logger } from '@ai-agent/common';
import type { PostgresServer } from '@ai-agent/common/testing';
import { postgresTarget } from '../../../src/store/postgres-connection.ts';
import { PostgresCallStore, type PostgresStoreLimits } from '../../../src/store/postgres-store.ts';
import type { RedactionPolicy } from '../../../src/store/record-redaction.ts';
import { policy, type StoreBackend } from './store-backend.ts';

export const storeLog = createLogger({ service: 'store-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** The database name in a connection URL. */
export const databaseOf = (url: string): string => new URL(url).pathname.slice(1);

export function openPostgresStore(
  url: string,
  options: { redaction?: RedactionPolicy; engineId?: string; limits?: Partial<PostgresStoreLimits>; log?: Logger } = {},
): PostgresCallStore {
  return new PostgresCallStore({
    target: postgresTarget(url, { allowPlaintext: false }),
    engineId: options.engineId ?? 'engine-a',
    redaction: options.redaction ?? policy(),
    log: options.log ?? storeLog,
    limits: options.limits,
  });
}

/** Runs `work` on a connection of its own to `url`. */
export async function withConnection<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The shared-database store on a real PostgreSQL server (started by the test file): one database per test. */
export function postgresBackend(server: () => PostgresServer): StoreBackend {
  return {
    name: 'PostgreSQL',
    fresh: () => server().createDatabase(),
    open: (url, options) => openPostgresStore(url, options),
    stored: (url) => server().dump(databaseOf(url)),
    async probe(url) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const count = async (sql: string, value: string): Promise<number> => Number((await client.query<{ n: string }>(sql, [value])).rows[0]!.n);
      return {
        callsWithPrefix: (prefix) => count('SELECT count(*) AS n FROM calls WHERE starts_with(id, $1)', prefix),
        rowsOf: (table, callId) => count(`SELECT count(*) AS n FROM ${table} WHERE call_id = $1`, callId),
        close: () => client.end(),
      };
    },
    async lockWrites(url, holdMs) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('BEGIN');
      // Blocks every write (each one updates its call's row); reads go on.
      await client.query('LOCK TABLE calls IN EXCLUSIVE MODE');
      const lockedAt = performance.now();
      setTimeout(() => void client.query('COMMIT').finally(() => client.end()), holdMs);
      return lockedAt;
    },
    async seedEndedCalls(url, count) {
      await withConnection(url, async (client) => {
        await client.query(
          `INSERT INTO calls (id, engine_id, context, transport, codec, started_at, ended_at, outcome, turn_count)
           SELECT 'old-' || i, 'seed', 'c', 'rtp', 'ulaw', '2025-01-01T00:00:00Z', '2025-01-01T00:01:00Z', 'completed', 5
           FROM generate_series(0, $1 - 1) AS i`,
          [count],
        );
        await client.query(
          `INSERT INTO turns (call_id, seq, speaker, text, started_at, interrupted)
           SELECT 'old-' || i, seq, 'caller', 'old words', '2025-01-01T00:00:30Z', false
           FROM generate_series(0, $1 - 1) AS i, generate_series(1, 5) AS seq`,
          [count],
        );
      });
    },
  };
}
