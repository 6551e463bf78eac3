import type { WebSocket } from 'ws';
import type { Logger } from '@ai-agent/common';
import { ariTimestamp } from './json.ts';

/** Anything events are about: a channel or bridge carries the set of apps subscribed to it. */
export interface Subject {
  subscribers: Set<string>;
}

interface AppConnection {
  ws: WebSocket;
  subscribeAll: boolean;
}

/**
 * Stasis applications registered over `/ari/events` (res/ari/resource_events.c, res/stasis/app.c).
 * An app exists while a WebSocket holds it; a second connection for the same name replaces the first,
 * which receives ApplicationReplaced. Events go to apps subscribed to one of their subjects, or to apps
 * connected with subscribeAll=true.
 */
export class AppRegistry {
  private readonly apps = new Map<string, AppConnection>();
  private readonly waiters = new Map<string, Array<() => void>>();

  constructor(private readonly asteriskId: string, private readonly log: Logger) {}

  has(app: string): boolean {
    return this.apps.has(app);
  }

  names(): string[] {
    return [...this.apps.keys()];
  }

  register(names: string[], ws: WebSocket, subscribeAll: boolean): void {
    for (const name of names) {
      const previous = this.apps.get(name);
      if (previous && previous.ws !== ws) {
        this.sendTo(previous.ws, { type: 'ApplicationReplaced', application: name, timestamp: ariTimestamp(), asterisk_id: this.asteriskId });
      }
      this.apps.set(name, { ws, subscribeAll });
      this.log.info({ app: name }, 'Stasis app registered');
      const waiting = this.waiters.get(name);
      this.waiters.delete(name);
      waiting?.forEach((w) => w());
    }
    ws.on('close', () => {
      for (const name of names) {
        if (this.apps.get(name)?.ws === ws) {
          this.apps.delete(name);
          this.log.info({ app: name }, 'Stasis app deactivated');
        }
      }
    });
  }

  /** Resolves true when `app` is (or becomes) registered within `timeoutMs`. */
  waitFor(app: string, timeoutMs: number): Promise<boolean> {
    if (this.apps.has(app)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const list = this.waiters.get(app) ?? [];
      const timer = setTimeout(() => {
        const remaining = (this.waiters.get(app) ?? []).filter((w) => w !== done);
        if (remaining.length) this.waiters.set(app, remaining);
        else this.waiters.delete(app);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve(true);
      };
      list.push(done);
      this.waiters.set(app, list);
    });
  }

  /** Sends an event (type plus fields) to every app that should see it. */
  emit(type: string, fields: Record<string, unknown>, subjects: Subject[]): void {
    const timestamp = ariTimestamp();
    for (const [name, conn] of this.apps) {
      if (!conn.subscribeAll && !subjects.some((s) => s.subscribers.has(name))) continue;
      this.sendTo(conn.ws, { type, timestamp, ...fields, asterisk_id: this.asteriskId, application: name });
    }
  }

  /** An event for one app only (app_send), whatever it is subscribed to. */
  emitTo(app: string, type: string, fields: Record<string, unknown>): void {
    const conn = this.apps.get(app);
    if (conn) this.sendTo(conn.ws, { type, timestamp: ariTimestamp(), ...fields, asterisk_id: this.asteriskId, application: app });
  }

  closeAll(): void {
    for (const conn of this.apps.values()) conn.ws.close(1001);
    this.apps.clear();
  }

  private sendTo(ws: WebSocket, event: Record<string, unknown>): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
  }
}
