// The thread that owns the call database. Everything that can wait on the disk or on another process's lock
// happens here, never on the event loop that paces the calls' audio.
import { parentPort, workerData } from 'node:worker_threads';
import { CallDatabase, isBusy, openDatabaseFile } from './call-database.ts';
import { PURGE_BATCH, callIdOf, type WriteFailure, type WriteOp } from './call-rows.ts';
import type { CallListQuery, CallRecord, CallSummary } from './types.ts';

export interface StoreWorkerData {
  path: string;
}

/** Answered in order, after every write sent before them. */
export type StoreRequest =
  | { type: 'get'; id: number; callId: string }
  | { type: 'list'; id: number; query: CallListQuery }
  | { type: 'closeAbandoned'; id: number; at: string }
  | { type: 'purge'; id: number; cutoff: string }
  | { type: 'close'; id: number };

export type StoreMessage = { type: 'write'; op: WriteOp } | StoreRequest;

export type StoreReply =
  /** The next `count` writes are committed, except `failures`. */
  | { type: 'written'; count: number; failures: WriteFailure[] }
  /** The database stayed locked for busy_timeout; the writes wait and are tried again. */
  | { type: 'busy'; waitedMs: number }
  | { type: 'result'; id: number; value: CallRecord | CallSummary[] | number | undefined }
  | { type: 'failed'; id: number; reason: string };

const port = parentPort!;
// The store created and migrated the file before starting this thread.
const db = new CallDatabase(openDatabaseFile((workerData as StoreWorkerData).path, { create: false }));
const queue: StoreMessage[] = [];
/** Purges under way: one batch each between rounds of queued work, so writes never wait behind a whole purge. */
const purges: Array<{ id: number; cutoff: string; deleted: number }> = [];
let scheduled = false;
/** Set by a close request: what was queued before it is written, anything after it is not. */
let closed = false;

const reply = (message: StoreReply): void => port.postMessage(message);

port.on('message', (message: StoreMessage) => {
  queue.push(message);
  schedule();
});

/** Runs once the messages that have already arrived are queued, so they commit together. */
function schedule(): void {
  if (scheduled || closed) return;
  scheduled = true;
  setImmediate(work);
}

function work(): void {
  scheduled = false;
  while (queue.length > 0 && !closed) {
    const head = queue[0]!;
    if (head.type === 'write') writeRun();
    else {
      queue.shift();
      answer(head);
    }
  }
  if (closed) {
    port.close();
    return;
  }
  const purge = purges[0];
  if (purge) {
    try {
      const deleted = db.purgeBatch(purge.cutoff);
      purge.deleted += deleted;
      if (deleted < PURGE_BATCH) {
        purges.shift();
        reply({ type: 'result', id: purge.id, value: purge.deleted });
      }
    } catch (err) {
      purges.shift();
      reply({ type: 'failed', id: purge.id, reason: (err as Error).message });
    }
    if (purges.length > 0) schedule();
  }
}

/** Commits the writes at the head of the queue in one transaction, waiting out a lock however long it lasts. */
function writeRun(): void {
  let count = 0;
  while (count < queue.length && queue[count]!.type === 'write') count++;
  const ops = queue.slice(0, count).map((m) => (m as { op: WriteOp }).op);
  let failures: WriteFailure[];
  for (;;) {
    const started = performance.now();
    try {
      failures = db.applyWrites(ops);
      break;
    } catch (err) {
      if (isBusy(err)) {
        reply({ type: 'busy', waitedMs: Math.round(performance.now() - started) });
        continue;
      }
      // The batch as a whole failed (disk full, I/O error): every record in it is refused.
      const reason = (err as Error).message;
      failures = ops.map((op) => ({ callId: callIdOf(op), operation: op.kind, reason }));
      break;
    }
  }
  queue.splice(0, count);
  reply({ type: 'written', count, failures });
}

function answer(request: StoreRequest): void {
  try {
    switch (request.type) {
      case 'get':
        return reply({ type: 'result', id: request.id, value: db.get(request.callId) });
      case 'list':
        return reply({ type: 'result', id: request.id, value: db.list(request.query) });
      case 'closeAbandoned':
        return reply({ type: 'result', id: request.id, value: db.closeAbandoned(request.at) });
      case 'purge':
        purges.push({ id: request.id, cutoff: request.cutoff, deleted: 0 });
        return;
      case 'close':
        closed = true;
        // A purge cut short is finished by the next start's purge.
        for (const purge of purges.splice(0)) reply({ type: 'result', id: purge.id, value: purge.deleted });
        db.close();
        return reply({ type: 'result', id: request.id, value: undefined });
    }
  } catch (err) {
    reply({ type: 'failed', id: request.id, reason: (err as Error).message });
  }
}
