import type { SendHandle, Serializable } from 'node:child_process';
import type { Logger } from '@ai-agent/common';

/** What crosses the IPC channel between engine processes: notes (no answer) and requests with their replies. */
export type IpcMessage =
  | { t: 'note'; kind: string; body: unknown }
  | { t: 'request'; id: number; op: string; args: unknown[] }
  | { t: 'reply'; id: number; ok: boolean; value?: unknown; error?: string };

/** Either end of the channel: a forked child (`ChildProcess`) or the process itself in the child. */
export interface IpcEnd {
  send?: (message: Serializable, sendHandle?: SendHandle, options?: object, callback?: (error: Error | null) => void) => boolean;
  connected?: boolean;
  on(event: 'message', listener: (message: unknown, handle?: unknown) => void): unknown;
}

/** A note's body, and the handle (a socket) that came with it, if any. */
export type NoteHandler = (body: unknown, handle?: unknown) => void;

type Handler = (...args: unknown[]) => unknown;

/** A request with no reply by then is failed (the other process is stuck or gone). */
const REQUEST_TIMEOUT_MS = 10_000;

function isMessage(value: unknown): value is IpcMessage {
  if (!value || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  if (m.t === 'note') return typeof m.kind === 'string';
  if (m.t === 'request') return typeof m.id === 'number' && typeof m.op === 'string' && Array.isArray(m.args);
  return m.t === 'reply' && typeof m.id === 'number' && typeof m.ok === 'boolean';
}

/**
 * Requests, replies and notes over Node's IPC channel (ordered, JSON): what one engine process asks of another.
 * A malformed message is counted and dropped; a request for an unknown operation is answered with an error.
 */
export class IpcPeer {
  private readonly handlers = new Map<string, Handler>();
  private readonly noteHandlers = new Map<string, NoteHandler>();
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;
  malformed = 0;

  constructor(private readonly end: IpcEnd, private readonly log: Logger) {
    end.on('message', (message, handle) => this.receive(message, handle));
  }

  /** Whether the other process can still be reached (false once it exited or closed the channel). */
  get connected(): boolean {
    return Boolean(this.end.send) && this.end.connected !== false;
  }

  /** Answers requests for `op`. */
  handle(op: string, handler: Handler): void {
    this.handlers.set(op, handler);
  }

  onNote(kind: string, handler: NoteHandler): void {
    this.noteHandlers.set(kind, handler);
  }

  /** Sends a note; false when the channel is closed (the note is lost). */
  note(kind: string, body: unknown): boolean {
    return this.send({ t: 'note', kind, body });
  }

  /**
   * Sends a note with a socket, which then belongs to the other process (Node passes its descriptor and closes
   * it here). False when the channel is closed: the socket is still this process's. `failed` hears of a send
   * that failed later.
   */
  noteWithSocket(kind: string, body: unknown, socket: SendHandle, failed: (err: Error) => void): boolean {
    if (!this.end.send || !this.connected) return false;
    try {
      this.end.send({ t: 'note', kind, body } satisfies IpcMessage, socket, {}, (err) => {
        if (err) failed(err);
      });
      return true;
    } catch {
      return false;
    }
  }

  request<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${op}: no reply within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!this.send({ t: 'request', id, op, args })) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(new Error(`${op}: the other engine process is gone`));
      }
    });
  }

  /** Fails every request still waiting (the other process exited). */
  failPending(reason: string): void {
    for (const [id, waiter] of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(new Error(reason));
      this.waiting.delete(id);
    }
  }

  private send(message: IpcMessage): boolean {
    if (!this.end.send || !this.connected) return false;
    try {
      return this.end.send(message as Serializable);
    } catch {
      return false;
    }
  }

  private receive(message: unknown, handle: unknown): void {
    if (!isMessage(message)) {
      this.malformed++;
      this.log.warn('malformed message between engine processes dropped');
      return;
    }
    if (message.t === 'note') return this.noteHandlers.get(message.kind)?.(message.body, handle);
    if (message.t === 'reply') {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.waiting.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(new Error(message.error ?? 'failed'));
      return;
    }
    void this.answer(message.id, message.op, message.args);
  }

  private async answer(id: number, op: string, args: unknown[]): Promise<void> {
    const handler = this.handlers.get(op);
    try {
      if (!handler) throw new Error(`unknown operation ${op}`);
      this.send({ t: 'reply', id, ok: true, value: await handler(...args) });
    } catch (err) {
      this.send({ t: 'reply', id, ok: false, error: (err as Error).message });
    }
  }
}
