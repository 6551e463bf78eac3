import { EventEmitter } from 'node:events';
import ariClient, { type Client } from 'ari-client';
import type { Logger } from '@ai-agent/common';

export interface AriConnectionOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  log: Logger;
  /** First and longest delay between connection attempts. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface AriConnectionEvents {
  /** Connected (first time or after a reconnect); `reconnected` is true after a loss. */
  connected: [client: Client, reconnected: boolean];
  disconnected: [];
}

/**
 * Keeps one ARI connection with its Stasis application registered, reconnecting with exponential backoff
 * for as long as the engine runs. `subscribeAll` stays off: the app sees only its own channels. The events
 * WebSocket URL carries the credentials (ari-client puts them in `api_key`), so it is never logged; the
 * scrubber masks the password anyway.
 */
export class AriConnection extends EventEmitter<AriConnectionEvents> {
  private client: Client | null = null;
  private connected = false;
  private everConnected = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: AriConnectionOptions) {
    super();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** The live client; throws while disconnected (callers treat that as a failed ARI request). */
  get api(): Client {
    if (!this.client) throw new Error('ARI is not connected');
    return this.client;
  }

  start(): void {
    void this.connect();
  }

  private delay(): number {
    const min = this.opts.minBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 30_000;
    return Math.min(max, min * 2 ** Math.min(this.attempt, 16));
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.delay();
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const log = this.opts.log;
    try {
      const client = this.client ?? (await ariClient.connect(this.opts.url, this.opts.username, this.opts.password));
      if (this.stopped) return;
      if (!this.client) {
        this.client = client;
        this.attachLifecycle(client);
      }
      await client.start(this.opts.app, false);
    } catch (err) {
      log.warn({ err: { message: (err as Error).message }, attempt: this.attempt + 1 }, 'ARI connection failed; retrying');
      // A failed first handshake leaves a client without a usable API description: start over.
      if (!this.everConnected) this.client = null;
      this.scheduleRetry();
    }
  }

  private attachLifecycle(client: Client): void {
    const log = this.opts.log;
    client.on('WebSocketConnected', () => {
      const reconnected = this.everConnected;
      this.connected = true;
      this.everConnected = true;
      this.attempt = 0;
      log.info({ app: this.opts.app, reconnected }, 'ARI connected, Stasis application registered');
      this.emit('connected', client, reconnected);
    });
    client.on('WebSocketReconnecting', (err?: Error) => {
      if (this.connected) {
        this.connected = false;
        log.warn({ reason: err?.message ?? 'closed' }, 'ARI events connection lost; reconnecting');
        this.emit('disconnected');
      }
    });
    // ari-client gives up after its own retries; we never do.
    client.on('WebSocketMaxRetries', () => {
      this.connected = false;
      this.scheduleRetry();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connected = false;
    try {
      this.client?.stop();
    } catch {
      // already closed
    }
  }
}
