import { ConfigError, type Logger, type StoreConfig } from '@ai-agent/common';
import { postgresTarget } from './postgres-connection.ts';
import { PostgresCallStore } from './postgres-store.ts';
import type { RedactionPolicy } from './record-redaction.ts';
import { SqliteCallStore } from './sqlite-store.ts';
import type { ManagedCallStore } from './types.ts';

export interface CallStoreSettings {
  config: StoreConfig;
  /** store.path, resolved to an absolute path. */
  sqlitePath: string;
  /** DATABASE_URL (or the file DATABASE_URL_FILE names), read by readSecret. */
  databaseUrl: string | undefined;
  /** store.engine_id or its default. */
  engineId: string;
  redaction: RedactionPolicy;
  log: Logger;
}

/** The store `store.backend` names. Throws ConfigError (naming the key) for settings it cannot work with. */
export function openCallStore(settings: CallStoreSettings): ManagedCallStore {
  const { config, redaction, log } = settings;
  if (config.backend === 'sqlite') return new SqliteCallStore({ path: settings.sqlitePath, redaction, log });
  if (!settings.databaseUrl) {
    throw new ConfigError('DATABASE_URL', 'store.backend is postgres: set DATABASE_URL (or DATABASE_URL_FILE) to the database connection URL');
  }
  return new PostgresCallStore({
    target: postgresTarget(settings.databaseUrl, { allowPlaintext: config.postgres_allow_plaintext }),
    engineId: settings.engineId,
    redaction,
    log,
  });
}
