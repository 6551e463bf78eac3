import type { Database } from 'better-sqlite3';

/**
 * The call-record schema, as an append-only list of steps. A database records the steps it has had in
 * `schema_version`; opening it applies the missing ones in order, each in its own transaction. Never edit a
 * released step: add one.
 */
export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'calls, transcript turns with latency breakdown, call events',
    up(db) {
      db.exec(`
        CREATE TABLE calls (
          id            TEXT PRIMARY KEY,
          channel_id    TEXT,
          context       TEXT NOT NULL,
          transport     TEXT NOT NULL,
          codec         TEXT NOT NULL,
          caller_number TEXT,
          caller_name   TEXT,
          started_at    TEXT NOT NULL,
          answered_at   TEXT,
          ended_at      TEXT,
          outcome       TEXT,
          hangup_cause  TEXT
        );
        CREATE INDEX calls_by_start ON calls (started_at DESC, id DESC);
        CREATE INDEX calls_by_end ON calls (ended_at) WHERE ended_at IS NOT NULL;

        CREATE TABLE turns (
          call_id             TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
          seq                 INTEGER NOT NULL,
          speaker             TEXT NOT NULL CHECK (speaker IN ('caller', 'agent')),
          text                TEXT NOT NULL,
          started_at          TEXT NOT NULL,
          ended_at            TEXT,
          interrupted         INTEGER NOT NULL CHECK (interrupted IN (0, 1)),
          endpointing_ms      REAL,
          stt_final_ms        REAL,
          llm_first_token_ms  REAL,
          first_sentence_ms   REAL,
          tts_first_audio_ms  REAL,
          engine_overhead_ms  REAL,
          total_ms            REAL,
          PRIMARY KEY (call_id, seq)
        ) WITHOUT ROWID;

        CREATE TABLE events (
          call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
          seq     INTEGER NOT NULL,
          kind    TEXT NOT NULL,
          at      TEXT NOT NULL,
          -- the event's other fields, as a JSON object
          data    TEXT NOT NULL,
          PRIMARY KEY (call_id, seq)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    description: 'per-call turn and barge-in counts, so call lists need no aggregate over turns/events',
    up(db) {
      db.exec(`
        ALTER TABLE calls ADD COLUMN turn_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE calls ADD COLUMN barge_in_count INTEGER NOT NULL DEFAULT 0;
        UPDATE calls SET
          turn_count = (SELECT count(*) FROM turns WHERE turns.call_id = calls.id),
          barge_in_count = (SELECT count(*) FROM events WHERE events.call_id = calls.id AND events.kind = 'barge_in');
      `);
    },
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The database was migrated by a newer engine: this one refuses to touch it (either backend). */
export class SchemaVersionError extends Error {
  constructor(found: number, known = LATEST_SCHEMA_VERSION) {
    super(`call database has schema version ${found}, newer than this engine knows (${known}); refusing to touch it`);
    this.name = 'SchemaVersionError';
  }
}

export function schemaVersion(db: Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const row = db.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number | null };
  return row.v ?? 0;
}

/** Brings `db` to `target` (default: latest); returns the versions applied. */
export function migrate(db: Database, target = LATEST_SCHEMA_VERSION): number[] {
  const current = schemaVersion(db);
  if (current > LATEST_SCHEMA_VERSION) throw new SchemaVersionError(current);
  const record = db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const step of MIGRATIONS) {
    if (step.version <= current || step.version > target) continue;
    db.transaction(() => {
      step.up(db);
      record.run(step.version, step.description, new Date().toISOString());
    })();
    applied.push(step.version);
  }
  return applied;
}
