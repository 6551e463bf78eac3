import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { startTsWorker, type Logger } from '@ai-agent/common';
import { openDatabaseFile } from './call-database.ts';
import type { WriteOp } from './call-rows.ts';
import { migrate } from './migrations.ts';
import type { RedactionPolicy } from './record-redaction.ts';
import { RedactingWrites } from './redacting-store.ts';
import type { StoreMessage, StoreReply, StoreRequest, StoreWorkerData } from './sqlite-worker.ts';
import type { CallListQuery, CallRecord, CallSummary, ManagedCallStore, StoreCounters } from './types.ts';

export interface SqliteCallStoreOptions {
  /** Database file; its directory is created 0700 and the file 0600 (SQLite gives -wal/-shm the same mode). */
  path: string;
  redaction: RedactionPolicy;
  log: Logger;
}

/**
 * Writes waiting for the database beyond this many are refused: a lock held for hours would otherwise hold
 * every record of every call in memory.
 */
const MAX_WAITING_WRITES = 50_000;

interface PendingRequest {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * Call records in an embedded SQLite database (WAL mode), owned by a worker thread: a write is redacted here,
 * queued and returns at once, so a slow disk or another process holding the database's lock delays the records,
 * never the event loop (and with it every call's audio). Writes are committed in batches, in order; a lock is
 * waited out, so nothing is lost, and close() settles once everything queued before it is on disk. Every text is
 * scrubbed on the way in; a write that fails is logged and counted, never thrown at the call that made it.
 */
export class SqliteCallStore extends RedactingWrites implements ManagedCallStore {
  readonly counters: StoreCounters = { writeErrors: 0, writeRetries: 0 };
  /** Opened and migrated by the constructor (which throws when it cannot). */
  readonly ready: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  protected readonly redaction: RedactionPolicy;
  private readonly worker: Worker;
  private readonly requests = new Map<number, PendingRequest>();
  private nextRequestId = 1;
  /** Writes sent to the worker and not yet reported committed or refused. */
  private waitingWrites = 0;
  private closing: Promise<void> | null = null;
  /** The worker has exited (after close, or because it failed). */
  private stopped = false;

  constructor(options: SqliteCallStoreOptions) {
    super();
    this.log = options.log.child({ component: 'call-store' });
    this.redaction = options.redaction;
    // Opened and migrated here, before any call: a database this engine cannot use stops the start.
    const db = openDatabaseFile(options.path, { create: true });
    try {
      const applied = migrate(db);
      if (applied.length) this.log.info({ applied }, 'call database migrated');
    } finally {
      db.close();
    }
    const workerData: StoreWorkerData = { path: options.path };
    this.worker = startTsWorker(new URL('./sqlite-worker.ts', import.meta.url), { workerData });
    this.worker.on('message', (reply: StoreReply) => this.onReply(reply));
    this.worker.on('error', (err) => this.log.error({ reason: err.message }, 'call store worker failed'));
    this.worker.on('exit', () => this.onExit());
    // Held open only while records are on their way (see send), like any other pending I/O.
    this.worker.unref();
  }

  pendingWrites(): number {
    return this.waitingWrites;
  }

  private get outstanding(): number {
    return this.waitingWrites + this.requests.size;
  }

  private send(message: StoreMessage): void {
    if (this.outstanding === 0) this.worker.ref();
    this.worker.postMessage(message);
  }

  private settled(): void {
    // Once closing, held until the worker has exited.
    if (this.outstanding === 0 && !this.closing) this.worker.unref();
  }

  private refuse(operation: WriteOp['kind'], callId: string, message: string, reason?: string): void {
    this.counters.writeErrors++;
    this.log.warn({ callId, operation, reason }, message);
  }

  protected write(operation: WriteOp['kind'], callId: string, makeOp: () => WriteOp): void {
    if (this.closing || this.stopped) return this.refuse(operation, callId, 'call record write after the store was closed');
    if (this.waitingWrites >= MAX_WAITING_WRITES) {
      return this.refuse(operation, callId, 'call record refused: too many records waiting for the database');
    }
    let op: WriteOp;
    try {
      op = makeOp();
    } catch (err) {
      return this.refuse(operation, callId, 'call record write failed', (err as Error).message);
    }
    this.send({ type: 'write', op });
    this.waitingWrites++;
  }

  private request<T>(build: (id: number) => StoreRequest): Promise<T> {
    if (this.closing || this.stopped) return Promise.reject(new Error('the call store is closed'));
    const id = this.nextRequestId++;
    return new Promise<T>((resolve, reject) => {
      this.send(build(id));
      this.requests.set(id, { resolve: resolve as (value: unknown) => void, reject });
    });
  }

  private onReply(reply: StoreReply): void {
    switch (reply.type) {
      case 'written':
        this.waitingWrites -= reply.count;
        for (const f of reply.failures) this.refuse(f.operation, f.callId, 'call record write failed', f.reason);
        break;
      case 'busy':
        this.counters.writeRetries++;
        this.log.warn({ waitedMs: reply.waitedMs, waiting: this.waitingWrites }, 'call database locked by another connection; records wait');
        return;
      case 'result':
      case 'failed': {
        const pending = this.requests.get(reply.id);
        this.requests.delete(reply.id);
        if (reply.type === 'result') pending?.resolve(reply.value);
        else pending?.reject(new Error(reply.reason));
        break;
      }
    }
    this.settled();
  }

  private onExit(): void {
    this.stopped = true;
    if (this.waitingWrites > 0) {
      this.counters.writeErrors += this.waitingWrites;
      this.log.error({ records: this.waitingWrites }, 'call records lost: the store worker stopped');
      this.waitingWrites = 0;
    }
    for (const pending of this.requests.values()) pending.reject(new Error('the call store worker stopped'));
    this.requests.clear();
  }

  get(callId: string): Promise<CallRecord | undefined> {
    return this.request((id) => ({ type: 'get', id, callId }));
  }

  list(query: CallListQuery): Promise<CallSummary[]> {
    return this.request((id) => ({ type: 'list', id, query }));
  }

  /** Deletes in batches of PURGE_BATCH calls, writes going between them. */
  purgeEndedBefore(cutoff: string): Promise<number> {
    return this.request((id) => ({ type: 'purge', id, cutoff }));
  }

  /** One engine owns the file: every record left open is this engine's. */
  closeAbandoned(at: string): Promise<number> {
    return this.request((id) => ({ type: 'closeAbandoned', id, at }));
  }

  /**
   * Writes everything queued, folds the WAL into the database file, closes it and waits for the worker to be
   * gone (a process that exits while the worker is still winding down can abort in the SQLite binding).
   * Idempotent. Never rejects: a failure is logged (and lost records counted), and a shutdown goes on.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.stopped) return (this.closing = Promise.resolve());
    const exited = once(this.worker, 'exit').then(() => undefined);
    this.request((id) => ({ type: 'close', id })).catch((err: Error) => {
      this.log.error({ reason: err.message }, 'closing the call database failed');
    });
    this.closing = exited;
    return exited;
  }
}
