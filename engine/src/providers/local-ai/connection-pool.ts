import { LocalAiClient, LocalAiError } from '@ai-agent/local-ai-server/client';
import type { Logger } from '@ai-agent/common';

export interface LocalAiPoolOptions {
  url: string;
  token?: string;
  connectTimeoutMs: number;
  /** Streams one connection carries before another is opened (the server allows 16 per connection). */
  streamsPerConnection?: number;
  /** Ping interval of each connection (default: the client's, well inside the server's idle timeout). */
  keepAliveMs?: number;
  log: Logger;
}

export interface Lease {
  client: LocalAiClient;
  release: () => void;
}

interface Slot {
  client: Promise<LocalAiClient>;
  active: number;
  dead: boolean;
}

/** The connection closed under the request before anything came back: the request can go out again. */
const connectionLost = (err: unknown): boolean => err instanceof LocalAiError && err.code === 'closed';

/**
 * Connections to one local AI server, shared by every call. The protocol multiplexes streams, so calls
 * reuse a warm connection (no handshake before a call's first audio); a new connection opens when the
 * others carry their share of streams and closes again when its streams are done. Each connection pings
 * so the server does not close it while the line is quiet, and leaves the pool the moment it closes (idle
 * timeout, server restart, lost peer), so the next request connects afresh.
 */
export class LocalAiPool {
  private readonly slots: Slot[] = [];
  private readonly perConnection: number;
  /** What the server said it runs, from its last hello (null before the first connection). */
  private serverCapabilities: LocalAiClient['capabilities'] | null = null;

  constructor(private readonly options: LocalAiPoolOptions) {
    this.perConnection = options.streamsPerConnection ?? 12;
  }

  /** The server's capabilities as of its last hello; null until a connection was made. */
  get capabilities(): LocalAiClient['capabilities'] | null {
    return this.serverCapabilities;
  }

  /** A connected client with room for one more stream (`fresh`: a new connection); `release()` when done. */
  async acquire(signal?: AbortSignal, fresh = false): Promise<Lease> {
    let slot = fresh ? undefined : this.slots.find((s) => !s.dead && s.active < this.perConnection);
    if (!slot) {
      const created: Slot = { client: this.connect(signal), active: 0, dead: false };
      void created.client.then((c) => c.closed.then(() => this.drop(created)), () => undefined);
      this.slots.push(created);
      slot = created;
    }
    slot.active++;
    const chosen = slot;
    let client: LocalAiClient;
    try {
      client = await chosen.client;
    } catch (err) {
      this.drop(chosen);
      throw err;
    }
    let released = false;
    return {
      client,
      release: () => {
        if (released) return;
        released = true;
        chosen.active--;
        // Connections opened for a burst are closed once idle; the first stays warm for the next call.
        if (chosen.active === 0 && this.slots.length > 1 && this.slots[0] !== chosen) this.drop(chosen);
      },
    };
  }

  /**
   * Opens a stream with `open` on a pooled connection. A connection can close just as a request goes out on
   * it (the server's idle timeout or a restart racing the request): that failure is retried once on a new
   * connection, as nothing came back yet. Any other failure, and a server that cannot be reached, is final.
   */
  async open<T>(signal: AbortSignal | undefined, open: (client: LocalAiClient) => Promise<T>): Promise<Lease & { value: T }> {
    for (let fresh = false; ; fresh = true) {
      const lease = await this.acquire(signal, fresh);
      try {
        return { ...lease, value: await open(lease.client) };
      } catch (err) {
        lease.release();
        if (fresh || !connectionLost(err) || signal?.aborted) throw err;
        this.options.log.info({ err: (err as Error).message }, 'local AI connection closed as a request went out; retrying on a new one');
      }
    }
  }

  /**
   * open() for a request answered by a stream of items (synthesis, chat): it counts as open once its first
   * item (or its end) has come, so a retry never repeats anything the caller has seen.
   */
  async stream<T>(signal: AbortSignal | undefined, start: (client: LocalAiClient) => AsyncIterable<T>): Promise<{ items: AsyncIterable<T>; release: () => void }> {
    const { value, release } = await this.open(signal, async (client) => {
      const iterator = start(client)[Symbol.asyncIterator]();
      return { iterator, first: await iterator.next() };
    });
    return { items: resume(value.iterator, value.first), release };
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.client.then((c) => c.close(), () => undefined)));
  }

  private drop(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.client.then((c) => c.close(), () => undefined);
  }

  private connect(signal?: AbortSignal): Promise<LocalAiClient> {
    const timeout = AbortSignal.timeout(this.options.connectTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const { url, token, keepAliveMs } = this.options;
    const connected = LocalAiClient.connect(url, { token, signal: combined, ...(keepAliveMs !== undefined ? { keepAliveMs } : {}) });
    return connected.then((client) => ((this.serverCapabilities = client.capabilities), client)).catch((err: unknown) => {
      if (timeout.aborted) throw new Error(`local AI server did not answer within ${this.options.connectTimeoutMs} ms`);
      if (signal?.aborted || err instanceof LocalAiError) throw err;
      throw new Error(`local AI server unreachable: ${(err as Error).message}`);
    });
  }
}

/** The rest of an iteration whose first result was already taken. */
async function* resume<T>(iterator: AsyncIterator<T>, first: IteratorResult<T>): AsyncIterable<T> {
  try {
    for (let r = first; !r.done; r = await iterator.next()) yield r.value;
  } finally {
    await iterator.return?.();
  }
}
