import { DatabaseError } from 'pg';
import { SchemaVersionError } from './migrations.ts';
import { EngineIdInUse } from './postgres-engine-lease.ts';
import { SchemaError } from './postgres-migrations.ts';

// Which failures mean "the database is not there right now" (wait and try again: the records are kept) and which
// mean "this statement or this engine is wrong" (refuse the record, or refuse to start).

/**
 * SQLSTATE classes and codes of a database that is unavailable for a while: connection exceptions (08),
 * insufficient resources (53: too many connections, disk full), shutting down or starting (57P01-03),
 * a statement timeout (57014: a lock held too long), serialization failures and deadlocks (40001, 40P01),
 * lock not available (55P03), system errors (58).
 */
const UNAVAILABLE_CODES = /^(08|53|57P0|57014|40001|40P01|55P03|58)/;

/**
 * True when the failure is the database's state, not the statement's: the server answers above, and every error
 * that is not a server's answer (connection refused, reset, cut, a timeout, a TLS failure) — except this engine's
 * own refusals (a schema it cannot use, a value it could not convert), which no retry cures.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof DatabaseError) return UNAVAILABLE_CODES.test(err.code ?? '');
  return !(err instanceof SchemaError || err instanceof SchemaVersionError || err instanceof EngineIdInUse || err instanceof RangeError || err instanceof TypeError);
}

/** TLS verification failures as Node reports them (error codes of the tls module and OpenSSL). */
const CERTIFICATE_FAILURE = /CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|ERR_TLS|HOSTNAME/;

/**
 * At start: failures no retry will cure, which stop the engine with their reason instead of letting it take calls
 * whose records can never be written (or that would end another engine's calls: its store.engine_id in use) — a schema from a newer engine or one this role may not create, refused
 * credentials (28xxx), a database that does not exist (3D000), missing privileges (42501), a server certificate
 * that does not verify, or a server without TLS when TLS was asked for.
 */
export function isPermanentAtStart(err: unknown): boolean {
  if (err instanceof SchemaError || err instanceof SchemaVersionError || err instanceof EngineIdInUse) return true;
  if (err instanceof DatabaseError) return /^(28|3D000|42501)/.test(err.code ?? '');
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && CERTIFICATE_FAILURE.test(code)) return true;
  return /does not support SSL/i.test((err as Error).message ?? '');
}
