import type { ClientBase } from 'pg';
import { SchemaVersionError } from './migrations.ts';

/**
 * The call-record schema on PostgreSQL, as an append-only list of steps (its own numbering: the SQLite file and
 * the server database are never converted into each other). Never edit a released step: add one.
 */
export interface PostgresMigration {
  version: number;
  description: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'calls (with the engine that owns each), transcript turns with latency breakdown, call events',
    sql: `
      CREATE TABLE calls (
        id             text PRIMARY KEY,
        -- the engine that took the call: at start an engine closes only its own calls left open
        engine_id      text NOT NULL,
        channel_id     text,
        context        text NOT NULL,
        transport      text NOT NULL,
        codec          text NOT NULL,
        caller_number  text,
        caller_name    text,
        started_at     timestamptz NOT NULL,
        answered_at    timestamptz,
        ended_at       timestamptz,
        outcome        text,
        hangup_cause   text,
        turn_count     integer NOT NULL DEFAULT 0,
        event_count    integer NOT NULL DEFAULT 0,
        barge_in_count integer NOT NULL DEFAULT 0
      );
      CREATE INDEX calls_by_start ON calls (started_at DESC, id DESC);
      CREATE INDEX calls_by_end ON calls (ended_at) WHERE ended_at IS NOT NULL;
      CREATE INDEX calls_open_by_engine ON calls (engine_id) WHERE ended_at IS NULL;

      CREATE TABLE turns (
        call_id            text NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
        seq                integer NOT NULL,
        speaker            text NOT NULL CHECK (speaker IN ('caller', 'agent')),
        text               text NOT NULL,
        started_at         timestamptz NOT NULL,
        ended_at           timestamptz,
        interrupted        boolean NOT NULL,
        endpointing_ms     double precision,
        stt_final_ms       double precision,
        llm_first_token_ms double precision,
        first_sentence_ms  double precision,
        tts_first_audio_ms double precision,
        engine_overhead_ms double precision,
        total_ms           double precision,
        PRIMARY KEY (call_id, seq)
      );

      CREATE TABLE events (
        call_id text NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
        seq     integer NOT NULL,
        kind    text NOT NULL,
        at      timestamptz NOT NULL,
        -- the event's other fields, as JSON text (kept as written, like the embedded store)
        data    text NOT NULL,
        PRIMARY KEY (call_id, seq)
      );
    `,
  },
];

export const LATEST_POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;

/**
 * Serialises schema changes between engines starting at once: every engine takes this lock before it even looks
 * at the schema version, so a second one waits for the first to finish and then finds nothing to do.
 * (An arbitrary pair of 32-bit keys, fixed for this product: "AIAG", 1.)
 */
const MIGRATION_LOCK: readonly [number, number] = [0x41494147, 1];

/** The database cannot be used by this engine, whatever is retried (too new, or a role that may not create the tables). */
export class SchemaError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SchemaError';
  }
}

/**
 * Brings the database to `target` (default: latest) in one transaction under the migration lock; returns the
 * versions applied. A schema that is already current needs no privilege beyond reading `schema_version`, so
 * engines may run as a role that can only read and write rows once an owner has migrated (docs/scale-out.md).
 */
export async function migratePostgres(client: ClientBase, target = LATEST_POSTGRES_SCHEMA_VERSION): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
    const { rows } = await client.query<{ exists: boolean }>("SELECT to_regclass('schema_version') IS NOT NULL AS exists");
    if (!rows[0]!.exists) {
      await client.query('CREATE TABLE schema_version (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL)');
    }
    const current = (await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_version')).rows[0]!.v ?? 0;
    if (current > LATEST_POSTGRES_SCHEMA_VERSION) throw new SchemaVersionError(current, LATEST_POSTGRES_SCHEMA_VERSION);
    const applied: number[] = [];
    for (const step of POSTGRES_MIGRATIONS) {
      if (step.version <= current || step.version > target) continue;
      await client.query(step.sql);
      await client.query('INSERT INTO schema_version (version, description, applied_at) VALUES ($1, $2, now())', [step.version, step.description]);
      applied.push(step.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((err as { code?: string }).code === '42501') {
      throw new SchemaError(
        `the database role may not create or change the call tables (${(err as Error).message}); run the first start after an ` +
          'install or upgrade with a role that owns the schema (docs/scale-out.md)',
        { cause: err },
      );
    }
    throw err;
  }
}
