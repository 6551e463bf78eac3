import { Pool, type PoolClient } from 'pg';
import type { Logger } from '@ai-agent/common';
import { ROW_TYPES } from './postgres-call-tables.ts';
import type { PostgresTarget } from './postgres-connection.ts';
import { isUnavailable } from './postgres-failures.ts';

/**
 * The store's connections to its database: a few (one loop uses them, reads and purges included), each bounded
 * in time so that a lock or a dead peer turns into a retried attempt rather than a loop that waits forever.
 */
export function openPool(target: PostgresTarget, options: { engineId: string; statementTimeoutMs: number; log: Logger }): Pool {
  const pool = new Pool({
    connectionTimeoutMillis: 5000,
    ...target.connection,
    max: 4,
    keepAlive: true,
    statement_timeout: options.statementTimeoutMs,
    // Past the server's own timeout: a connection that stopped answering (no RST) is given up too.
    query_timeout: options.statementTimeoutMs + 5000,
    // Names this engine in pg_stat_activity.
    application_name: target.connection.application_name ?? `ai-agent-engine ${options.engineId}`,
    types: ROW_TYPES,
    // Idle connections never keep the process alive; records on their way do (their timers and queries).
    allowExitOnIdle: true,
  });
  // An idle connection that breaks is reported here (instead of crashing the process); the next query opens a new one.
  pool.on('error', (err) => options.log.debug({ reason: err.message }, 'idle call database connection closed'));
  const { tls, description, plaintextRemote } = target;
  options.log.info({ database: description, tls, engineId: options.engineId }, 'call store: PostgreSQL');
  if (plaintextRemote) options.log.warn({ database: description }, 'call database connection is not encrypted (store.postgres_allow_plaintext)');
  else if (tls === 'require') options.log.warn({ database: description }, 'call database certificate not verified (sslmode=require); use sslmode=verify-full');
  return pool;
}

/** Runs `work` on a connection of the pool; a connection that failed is closed rather than reused. */
export async function withClient<T>(pool: Pool, log: Logger, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out connection that breaks between two queries reports here instead of crashing the process.
  const onError = (err: Error): void => log.debug({ reason: err.message }, 'call database connection broke');
  client.on('error', onError);
  let failure: unknown;
  try {
    return await work(client);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(failure !== undefined && isUnavailable(failure));
  }
}
