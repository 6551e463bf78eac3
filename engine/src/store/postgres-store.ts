// Size: one queue and the one loop that drains it (writes, reads, purges, an outage's retries, close): the order
// between them is the store's contract, so they stay together; connections, statements, schema and the outage's
// pacing live in the postgres-* and database-outage modules.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '@ai-agent/common';
import { PURGE_BATCH, type WriteFailure, type WriteOp } from './call-rows.ts';
import { DatabaseOutage } from './database-outage.ts';
import type { PostgresTarget } from './postgres-connection.ts';
import {
  CommitOutcomeUnknown,
  applyWrites,
  closeAbandoned,
  getCall,
  listCalls,
  purgeBatch,
  transactionStatus,
} from './postgres-call-tables.ts';
import { EngineIdInUse, EngineIdLease } from './postgres-engine-lease.ts';
import { isPermanentAtStart, isUnavailable } from './postgres-failures.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { openPool, withClient } from './postgres-pool.ts';
import type { RedactionPolicy } from './record-redaction.ts';
import { RedactingWrites } from './redacting-store.ts';
import { CallStoreUnavailable } from './store-errors.ts';
import type { CallListQuery, CallRecord, CallSummary, ManagedCallStore, StoreCounters } from './types.ts';

export interface PostgresStoreLimits {
  /** Writes kept while the database is unavailable; beyond, new ones are dropped (and counted). */
  maxWaitingWrites: number;
  /** Writes per transaction. */
  maxBatch: number;
  /** Wait before the first retry, doubled per failed attempt up to retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
  /** close() waits this long for waiting writes, then counts them lost. */
  closeTimeoutMs: number;
  /** A statement (a lock waited on, a slow disk) runs at most this long before the attempt is retried. */
  statementTimeoutMs: number;
}

const DEFAULT_LIMITS: PostgresStoreLimits = {
  maxWaitingWrites: 50_000,
  maxBatch: 500,
  retryMinMs: 250,
  retryMaxMs: 30_000,
  closeTimeoutMs: 10_000,
  statementTimeoutMs: 15_000,
};

export interface PostgresCallStoreOptions {
  target: PostgresTarget;
  /** This engine's name on its records (store.engine_id). */
  engineId: string;
  redaction: RedactionPolicy;
  log: Logger;
  limits?: Partial<PostgresStoreLimits>;
}

type Job =
  | { kind: 'write'; op: WriteOp }
  /** `durable`: kept through an outage like a write (closeAbandoned); otherwise refused while the database is away. */
  | { kind: 'request'; durable: boolean; run(client: PoolClient): Promise<unknown>; resolve(value: unknown): void; reject(err: Error): void };

interface Purge {
  cutoff: string;
  deleted: number;
  resolve(deleted: number): void;
  reject(err: Error): void;
}

const unavailableError = (): Error => new CallStoreUnavailable();

/**
 * Call records in a PostgreSQL database that several engines share. Same contract as the embedded store: a write
 * is redacted, queued and returns at once; writes are committed in order, in batches, by one loop off the call's
 * path; a read is answered after every write made before it. When the database is unavailable the writes wait
 * (up to limits.maxWaitingWrites, then new ones are dropped and counted) and are retried with growing pauses,
 * reads fail at once, and calls go on. A batch whose COMMIT lost its connection is looked up by its transaction
 * id before it is retried, so a record is never written twice.
 */
export class PostgresCallStore extends RedactingWrites implements ManagedCallStore {
  readonly counters: StoreCounters = { writeErrors: 0, writeRetries: 0 };
  readonly ready: Promise<void>;
  private readonly log: Logger;
  protected readonly redaction: RedactionPolicy;
  private readonly engineId: string;
  private readonly limits: PostgresStoreLimits;
  private readonly pool: Pool;
  private readonly lease: EngineIdLease;
  /** Whether the lease is to be kept: taken at start, re-taken after its connection is lost. */
  private keepLease = true;
  private readonly queue: Job[] = [];
  private readonly purges: Purge[] = [];
  private waitingWrites = 0;
  private schemaReady = false;
  /** Settles `ready` after the first attempt to migrate. */
  private opened: { resolve(): void; reject(err: Error): void } | null;
  /** The head batch's COMMIT went unanswered: its transaction and the refusals it would have reported. */
  private uncertain: { xid: string; count: number; failures: WriteFailure[] } | null = null;
  private pumping: Promise<void> | null = null;
  private readonly outage: DatabaseOutage;
  /** Writes dropped since the last report (the queue was full). */
  private dropped = 0;
  /** Called whenever the loop stops for lack of work. */
  private readonly idleWaiters = new Set<() => void>();
  private closing: Promise<void> | null = null;
  /** Given up (close() timed out, or the database can never be used): nothing more is tried. */
  private abandoned = false;

  constructor(options: PostgresCallStoreOptions) {
    super();
    this.log = options.log.child({ component: 'call-store' });
    this.redaction = options.redaction;
    this.engineId = options.engineId;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.outage = new DatabaseOutage(this.log, this.limits);
    this.pool = openPool(options.target, { engineId: this.engineId, statementTimeoutMs: this.limits.statementTimeoutMs, log: this.log });
    this.lease = new EngineIdLease(options.target, this.engineId, this.log);
    let opened!: { resolve(): void; reject(err: Error): void };
    this.ready = new Promise<void>((resolve, reject) => {
      opened = { resolve, reject };
    });
    this.opened = opened;
    // Whoever starts the engine awaits it; a store nobody asks (a test, a tool) must not crash the process.
    this.ready.catch(() => undefined);
    this.schedule();
  }

  pendingWrites(): number {
    return this.waitingWrites;
  }

  // --- writes ---

  private refuse(operation: WriteOp['kind'], callId: string, message: string, reason?: string): void {
    this.counters.writeErrors++;
    this.log.warn({ callId, operation, reason }, message);
  }

  protected write(operation: WriteOp['kind'], callId: string, makeOp: () => WriteOp): void {
    if (this.closing) return this.refuse(operation, callId, 'call record write after the store was closed');
    if (this.abandoned) return this.refuse(operation, callId, 'call record refused: the call database cannot be used');
    if (this.waitingWrites >= this.limits.maxWaitingWrites) {
      this.counters.writeErrors++;
      // One line when dropping starts, not one per record: how many follows once writes flow again.
      if (this.dropped++ === 0) this.log.error({ waiting: this.waitingWrites }, 'call records dropped: too many waiting for the call database');
      return;
    }
    let op: WriteOp;
    try {
      op = makeOp();
    } catch (err) {
      return this.refuse(operation, callId, 'call record write failed', (err as Error).message);
    }
    this.queue.push({ kind: 'write', op });
    this.waitingWrites++;
    this.schedule();
  }

  // --- reads and housekeeping, in order with the writes ---

  private request<T>(durable: boolean, run: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('the call store is closed'));
    if (this.abandoned) return Promise.reject(unavailableError());
    // Stale answers are worse than none: while writes wait for the database, reads do not go around them.
    if (this.outage.active && !durable) return Promise.reject(unavailableError());
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: 'request', durable, run, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  get(callId: string): Promise<CallRecord | undefined> {
    return this.request(false, (client) => getCall(client, callId));
  }

  list(query: CallListQuery): Promise<CallSummary[]> {
    return this.request(false, (client) => listCalls(client, query));
  }

  /** Only under this engine's lease: the calls open under its engine_id are then a previous run's, not another engine's. */
  closeAbandoned(at: string): Promise<number> {
    return this.request(true, async (client) => ((await this.holdLease()) ? closeAbandoned(client, at, this.engineId) : 0));
  }

  /** Takes the engine_id lease if it is not held; false (logged) when another engine has it. */
  private async holdLease(): Promise<boolean> {
    if (!this.keepLease) return false;
    try {
      await this.lease.acquire();
      return true;
    } catch (err) {
      if (!(err instanceof EngineIdInUse)) throw err;
      this.keepLease = false;
      this.log.error({ engineId: this.engineId }, `${err.message}; calls left open under it are not closed by this engine`);
      return false;
    }
  }

  /** Deletes in batches of PURGE_BATCH calls, writes going between them. */
  purgeEndedBefore(cutoff: string): Promise<number> {
    if (this.closing) return Promise.reject(new Error('the call store is closed'));
    return new Promise<number>((resolve, reject) => {
      this.purges.push({ cutoff, deleted: 0, resolve, reject });
      this.schedule();
    });
  }

  // --- the loop that talks to the database ---

  /** Runs the loop once the writes made in this turn of the event loop are queued, so they commit together. */
  private schedule(): void {
    if (this.pumping || this.abandoned) return;
    this.pumping = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.pump())
      .finally(() => {
        this.pumping = null;
        if (this.hasWork()) this.schedule();
        else for (const idle of this.idleWaiters) idle();
      });
  }

  private hasWork(): boolean {
    return !this.abandoned && (this.queue.length > 0 || this.purges.length > 0 || !this.schemaReady);
  }

  private async pump(): Promise<void> {
    while (this.hasWork()) {
      try {
        await this.step();
        this.outage.recovered(this.waitingWrites);
      } catch (err) {
        if (this.abandoned) return;
        await this.unavailable(err as Error);
      }
    }
  }

  /** One unit of work: the schema, the batch of writes at the head, the request at the head, or a purge batch. */
  private async step(): Promise<void> {
    if (!this.schemaReady) return this.withClient(async (client) => this.migrate(client));
    // At start a lease held elsewhere refuses the start (thrown from migrate); later, one lost with its connection
    // (a database restart) is taken again before anything else.
    if (!this.lease.held && this.keepLease) await this.holdLease();
    const head = this.queue[0];
    if (head?.kind === 'write') return this.withClient((client) => this.writeHead(client));
    if (head) {
      try {
        head.resolve(await this.withClient((client) => head.run(client)));
        this.queue.shift();
      } catch (err) {
        if (head.durable && isUnavailable(err)) throw err;
        this.queue.shift();
        head.reject(isUnavailable(err) ? unavailableError() : (err as Error));
      }
      return;
    }
    const purge = this.purges[0]!;
    if (this.closing) {
      // A purge cut short is finished by the next start's purge.
      this.purges.shift();
      return purge.resolve(purge.deleted);
    }
    try {
      const deleted = await this.withClient((client) => purgeBatch(client, purge.cutoff));
      purge.deleted += deleted;
      if (deleted < PURGE_BATCH) {
        this.purges.shift();
        purge.resolve(purge.deleted);
      }
    } catch (err) {
      this.purges.shift();
      purge.reject(isUnavailable(err) ? unavailableError() : (err as Error));
    }
  }

  private withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return withClient(this.pool, this.log, work);
  }

  private async migrate(client: PoolClient): Promise<void> {
    if (this.opened) await this.lease.acquire();
    const applied = await migratePostgres(client);
    if (applied.length) this.log.info({ applied }, 'call database migrated');
    this.schemaReady = true;
    this.opened?.resolve();
    this.opened = null;
  }

  private async writeHead(client: PoolClient): Promise<void> {
    if (this.uncertain) {
      const { xid, count, failures } = this.uncertain;
      const status = await transactionStatus(client, xid);
      // Still running: the server has not yet seen the connection go. Asked again after a pause.
      if (status === 'in progress') throw new Error('a batch whose commit went unanswered is still in progress');
      this.uncertain = null;
      if (status === 'committed') return this.written(count, failures);
    }
    let count = 0;
    while (count < this.queue.length && count < this.limits.maxBatch && this.queue[count]!.kind === 'write') count++;
    const ops = this.queue.slice(0, count).map((job) => (job as { op: WriteOp }).op);
    try {
      this.written(count, await applyWrites(client, ops, this.engineId));
    } catch (err) {
      if (err instanceof CommitOutcomeUnknown) this.uncertain = { xid: err.xid, count, failures: err.failures };
      throw err;
    }
  }

  private written(count: number, failures: WriteFailure[]): void {
    this.queue.splice(0, count);
    this.waitingWrites -= count;
    for (const f of failures) this.refuse(f.operation, f.callId, 'call record write failed', f.reason);
    if (this.dropped > 0) {
      this.log.warn({ dropped: this.dropped }, 'call records were dropped while too many waited for the call database');
      this.dropped = 0;
    }
  }

  /** The database did not answer (or refused this engine): keep the writes, refuse the reads, pause, try again. */
  private async unavailable(err: Error): Promise<void> {
    if (this.opened && isPermanentAtStart(err)) {
      // The engine refuses to start with this reason: nothing is retried.
      this.opened.reject(err);
      this.opened = null;
      this.abandon();
      return;
    }
    this.opened?.resolve();
    this.opened = null;
    if (this.queue[0]?.kind === 'write') this.counters.writeRetries++;
    // Reads waiting behind the writes are refused now rather than left hanging.
    for (const job of this.queue.filter((j) => j.kind === 'request' && !j.durable)) {
      this.queue.splice(this.queue.indexOf(job), 1);
      (job as { reject(err: Error): void }).reject(unavailableError());
    }
    // Short pauses once closing, so the records get every chance before close() gives up on them.
    await this.outage.failed(err.message, this.waitingWrites, this.closing !== null);
  }

  /** Gives up on everything still waiting: writes counted lost, requests refused. */
  private abandon(): void {
    this.abandoned = true;
    for (const job of this.queue.splice(0)) if (job.kind === 'request') job.reject(unavailableError());
    for (const purge of this.purges.splice(0)) purge.resolve(purge.deleted);
    if (this.waitingWrites > 0) {
      this.counters.writeErrors += this.waitingWrites;
      this.log.error({ records: this.waitingWrites }, 'call records lost: the call database stayed unavailable until the store closed');
      this.waitingWrites = 0;
    }
    this.outage.retryNow();
    for (const idle of this.idleWaiters) idle();
  }

  /** Resolves once nothing is queued, or false after `ms`. */
  private drained(ms: number): Promise<boolean> {
    if (!this.pumping && !this.hasWork()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiters.delete(done);
        resolve(false);
      }, ms);
      const done = (): void => {
        if (this.pumping || this.hasWork()) return;
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(true);
      };
      this.idleWaiters.add(done);
    });
  }

  /**
   * Writes everything queued (waiting up to limits.closeTimeoutMs for an unavailable database, then counting the
   * rest lost) and closes the connections. Idempotent; never rejects, so a shutdown goes on.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      // Retry at once rather than at the end of a long pause.
      this.outage.retryNow();
      if (!(await this.drained(this.limits.closeTimeoutMs))) this.abandon();
      this.opened?.resolve();
      this.opened = null;
      // A query stuck on a dead connection ends at query_timeout; shutdown does not wait for it.
      await Promise.race([Promise.all([this.pool.end().catch(() => undefined), this.lease.release()]), sleep(2000, undefined, { ref: false })]);
    })();
    return this.closing;
  }
}
