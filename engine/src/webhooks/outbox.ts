import { mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeFileAtomic } from './atomic-file.ts';

/** One webhook event waiting for delivery, as its file holds it. */
export interface OutboxEvent {
  id: string;
  url: string;
  /** The exact bytes to POST (signed afresh on every attempt). */
  body: string;
  /** ms since the epoch. */
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
}

const FAILED = 'failed';

function parseEvent(text: string): OutboxEvent | null {
  try {
    const e = JSON.parse(text) as Partial<OutboxEvent>;
    const ok = typeof e.id === 'string' && typeof e.url === 'string' && typeof e.body === 'string' &&
      typeof e.createdAt === 'number' && typeof e.attempts === 'number' && typeof e.nextAttemptAt === 'number';
    return ok ? (e as OutboxEvent) : null;
  } catch {
    return null;
  }
}

/**
 * A durable FIFO of webhook events: one JSON file per event in `dir` (mode 0600 in a 0700 folder), written
 * atomically, named so that name order is queue order. An event leaves only when delivered (`remove`) or given
 * up (`fail`: moved to `failed/`, kept for an operator). A process that stops or crashes leaves the files; the
 * next one `open()`s them and goes on, so a receiver outage or a restart loses nothing.
 */
export class Outbox {
  private readonly events: Array<{ file: string; event: OutboxEvent }> = [];
  private seq = 0;

  constructor(private readonly dir: string, private readonly maxEvents: number) {}

  get size(): number {
    return this.events.length;
  }

  /**
   * Creates the folder and loads what a previous process left. Temporary files of an interrupted write go; a
   * file that is not an event (edited by hand) moves to failed/ and is counted in `unreadable`.
   */
  async open(): Promise<{ pending: number; unreadable: number }> {
    await mkdir(join(this.dir, FAILED), { recursive: true, mode: 0o700 });
    let unreadable = 0;
    for (const name of (await readdir(this.dir)).sort()) {
      if (name.endsWith('.tmp')) {
        await unlink(join(this.dir, name));
        continue;
      }
      if (!name.endsWith('.json')) continue;
      const event = parseEvent(await readFile(join(this.dir, name), 'utf8'));
      if (event) {
        this.events.push({ file: name, event });
      } else {
        unreadable++;
        await rename(join(this.dir, name), join(this.dir, FAILED, name));
      }
    }
    return { pending: this.events.length, unreadable };
  }

  /** The oldest event, next to deliver. */
  head(): OutboxEvent | undefined {
    return this.events[0]?.event;
  }

  /** Queues an event once it is on disk; false (nothing written) when the outbox is full. */
  async add(event: Pick<OutboxEvent, 'id' | 'url' | 'body'>, now = Date.now()): Promise<boolean> {
    if (this.events.length >= this.maxEvents) return false;
    const full: OutboxEvent = { ...event, createdAt: now, attempts: 0, nextAttemptAt: now };
    const file = `${String(now).padStart(15, '0')}-${String(this.seq++).padStart(6, '0')}-${event.id}.json`;
    await writeFileAtomic(join(this.dir, file), JSON.stringify(full));
    this.events.push({ file, event: full });
    return true;
  }

  /** A failed attempt: the event's new attempt count and next time, on disk. */
  async retryLater(event: OutboxEvent, nextAttemptAt: number): Promise<void> {
    event.attempts++;
    event.nextAttemptAt = nextAttemptAt;
    await writeFileAtomic(join(this.dir, this.fileOf(event)), JSON.stringify(event));
  }

  /** Delivered: gone for good. */
  async remove(event: OutboxEvent): Promise<void> {
    const file = this.take(event);
    await unlink(join(this.dir, file));
    await syncDir(this.dir);
  }

  /** Given up: moved to failed/ for an operator to inspect or requeue. */
  async fail(event: OutboxEvent): Promise<void> {
    const file = this.take(event);
    await rename(join(this.dir, file), join(this.dir, FAILED, file));
    await syncDir(this.dir);
  }

  private fileOf(event: OutboxEvent): string {
    const entry = this.events.find((e) => e.event === event);
    if (!entry) throw new Error(`event ${event.id} is not in the outbox`);
    return entry.file;
  }

  private take(event: OutboxEvent): string {
    const file = this.fileOf(event);
    this.events.splice(this.events.findIndex((e) => e.event === event), 1);
    return file;
  }
}
