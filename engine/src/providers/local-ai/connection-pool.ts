import { LocalAiClient } from '@ai-agent/local-ai-server';
import type { Logger } from '@ai-agent/common';

export interface LocalAiPoolOptions {
  url: string;
  token?: string;
  connectTimeoutMs: number;
  /** Streams one connection carries before another is opened (the server allows 16 per connection). */
  streamsPerConnection?: number;
  log: Logger;
}

interface Slot {
  client: Promise<LocalAiClient>;
  active: number;
  dead: boolean;
}

/**
 * Connections to one local AI server, shared by every call. The protocol multiplexes streams, so calls
 * reuse a warm connection (no handshake before a call's first audio); a new connection opens when the
 * others carry their share of streams and closes again when its streams are done, and a failed one is
 * dropped so the next request reconnects.
 */
export class LocalAiPool {
  private readonly slots: Slot[] = [];
  private readonly perConnection: number;

  constructor(private readonly options: LocalAiPoolOptions) {
    this.perConnection = options.streamsPerConnection ?? 12;
  }

  /** A connected client with room for one more stream; `release()` when that stream is over. */
  async acquire(signal?: AbortSignal): Promise<{ client: LocalAiClient; release: () => void }> {
    let slot = this.slots.find((s) => !s.dead && s.active < this.perConnection);
    if (!slot) {
      slot = { client: this.connect(signal), active: 0, dead: false };
      this.slots.push(slot);
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

  /** A connection failed mid-stream: forget it (its streams have failed already). */
  markFailed(client: LocalAiClient): void {
    for (const slot of this.slots) {
      void slot.client.then((c) => {
        if (c === client) this.drop(slot);
      }, () => undefined);
    }
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.client.then((c) => c.close(), () => undefined)));
  }

  private drop(slot: Slot): void {
    slot.dead = true;
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.client.then((c) => c.close(), () => undefined);
  }

  private connect(signal?: AbortSignal): Promise<LocalAiClient> {
    const timeout = AbortSignal.timeout(this.options.connectTimeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return LocalAiClient.connect(this.options.url, { token: this.options.token, signal: combined }).catch((err: unknown) => {
      if (timeout.aborted) throw new Error(`local AI server did not answer within ${this.options.connectTimeoutMs} ms`);
      throw err;
    });
  }
}
