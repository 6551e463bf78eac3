import pg from 'pg';
import type { Logger } from '@ai-agent/common';
import type { PostgresTarget } from './postgres-connection.ts';

/** Another engine of the shared database runs under this engine's store.engine_id. */
export class EngineIdInUse extends Error {
  constructor(engineId: string) {
    super(
      `store.engine_id "${engineId}" is in use by another running engine on this database: give each engine its own ` +
        '(this one would close the calls that engine has open)',
    );
  }
}

/**
 * This engine's hold on its store.engine_id in the shared database: a session-level advisory lock on a connection
 * of its own, which PostgreSQL releases by itself when the engine's process or connection dies. Whoever holds it
 * may close the calls left open under that id (a previous run's); a second engine misconfigured with the same id
 * is told so instead of ending the first one's live calls. A lost connection is re-established on the next use.
 */
export class EngineIdLease {
  private client: pg.Client | null = null;

  constructor(
    private readonly target: PostgresTarget,
    private readonly engineId: string,
    private readonly log: Logger,
  ) {}

  get held(): boolean {
    return this.client !== null;
  }

  /** Takes the lock (a no-op while held); throws EngineIdInUse when another engine holds it, or the connection's failure. */
  async acquire(): Promise<void> {
    if (this.client) return;
    const client = new pg.Client({
      connectionTimeoutMillis: 5000,
      ...this.target.connection,
      keepAlive: true,
      application_name: this.target.connection.application_name ?? `ai-agent-engine ${this.engineId} (engine_id lease)`,
    });
    const lost = (err?: Error): void => {
      if (this.client !== client) return;
      this.client = null;
      this.log.warn({ reason: err?.message ?? 'closed' }, 'call database: lost the connection holding store.engine_id; taken again on next use');
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS held', [`ai-agent engine_id ${this.engineId}`]);
      if (!rows[0]?.held) throw new EngineIdInUse(this.engineId);
      this.client = client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
