import { EventEmitter } from 'node:events';
import ariClient, { type Client } from 'ari-client';
import type { Logger } from '@ai-agent/common';
import { RateLimitedLog } from '../transport/rate-limited-log.ts';

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
  /** Events that could not be processed (malformed, or of a shape the API description does not declare). */
  readonly counters = { badEvents: 0 };
  private readonly badEventLog: RateLimitedLog;
  private readonly guardedSockets = new WeakSet<object>();
  private client: Client | null = null;
  private connected = false;
  private everConnected = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: AriConnectionOptions) {
    super();
    this.badEventLog = new RateLimitedLog(opts.log);
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
      this.guardEvents(client);
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
    // Another ARI connection registered the same Stasis app (a second engine, a stale process, a script): Asterisk
    // now sends this app's calls there and nothing here. Not fought over (two engines re-registering in turn would
    // flip calls between them): this engine stops being ready and says why, until its events socket reconnects.
    client.on('ApplicationReplaced', ((event: { application?: string }) => {
      if (event.application !== this.opts.app || !this.connected) return;
      this.connected = false;
      log.error({ app: this.opts.app }, 'Stasis application taken over by another ARI connection with the same app name; this engine gets no calls until it reconnects (stop the other one, or give each engine its own ARI_APP)');
      this.emit('disconnected');
    }) as never);
    // ari-client gives up after its own retries; we never do.
    client.on('WebSocketMaxRetries', () => {
      this.connected = false;
      this.scheduleRetry();
    });
  }

  /**
   * ari-client parses every event inside its WebSocket 'message' handler and dispatches it to our listeners
   * from there: an event it cannot model (an undeclared type, a channel without an id) or a listener that
   * throws would escape as an uncaught exception and take every call of the process down with it. Each new
   * events socket's handler is wrapped so such an event is dropped, counted and logged (rate-limited) instead.
   */
  private guardEvents(client: Client): void {
    const ws = (client as unknown as { _ws?: EventEmitter })._ws;
    if (!ws || this.guardedSockets.has(ws)) return;
    this.guardedSockets.add(ws);
    for (const listener of ws.listeners('message') as Array<(...args: unknown[]) => void>) {
      ws.off('message', listener);
      ws.on('message', (...args: unknown[]) => {
        try {
          listener.apply(ws, args);
        } catch (err) {
          this.counters.badEvents++;
          this.badEventLog.warn('bad_event', { err: { message: (err as Error).message } }, 'ARI event could not be processed; dropped');
        }
      });
    }
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
