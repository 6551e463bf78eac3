// A small HTTP client over node:http, as a browser or script would talk to the admin UI: a cookie jar that
// honours Path and expiry, any Host/Origin header (fetch forbids setting Host), and a chosen source address
// (127.0.0.x), so tests can be "another machine" for the lockout.
import { request as httpRequest } from 'node:http';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Source address of the connection (any 127.0.0.0/8 address on Linux). */
  from?: string;
  /** Send no cookies. */
  anonymous?: boolean;
  /** Add x-csrf-token from the jar's csrf cookie (what the web app does on writes). */
  csrf?: boolean;
}

interface Cookie {
  value: string;
  path: string;
}

export class Client {
  readonly cookies = new Map<string, Cookie>();

  constructor(readonly port: number, private readonly defaults: { from?: string; headers?: Record<string, string> } = {}) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  private cookieHeader(path: string): string {
    return [...this.cookies]
      .filter(([, c]) => path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
  }

  private store(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = decodeURIComponent(pair!.slice(eq + 1));
      const attr = (key: string): string | undefined =>
        attrs.find((a) => a.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
      const maxAge = attr('max-age');
      const expires = attr('expires');
      const gone = (maxAge !== undefined && Number(maxAge) <= 0) || (expires !== undefined && Date.parse(expires) <= Date.now()) || value === '';
      if (gone) this.cookies.delete(name);
      else this.cookies.set(name, { value, path: attr('path') ?? '/' });
    }
  }

  request(path: string, opts: RequestOptions = {}): Promise<Reply> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: Record<string, string> = { host: `127.0.0.1:${this.port}`, ...this.defaults.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const cookies = opts.anonymous ? '' : this.cookieHeader(path.split('?')[0]!);
    if (cookies) headers.cookie = cookies;
    if (opts.csrf && this.cookie('csrf')) headers['x-csrf-token'] = this.cookie('csrf')!;
    Object.assign(headers, opts.headers);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port: this.port, path, method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, localAddress: opts.from ?? this.defaults.from },
        (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (d: string) => { text += d; });
          res.on('end', () => {
            if (!opts.anonymous) this.store(res.headers['set-cookie']);
            let json: unknown;
            try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  get(path: string, opts: RequestOptions = {}): Promise<Reply> {
    return this.request(path, { ...opts, method: 'GET' });
  }

  /** A write as the web app sends it: JSON body and the CSRF header. */
  send(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<Reply> {
    return this.request(path, { csrf: true, ...opts, method, body });
  }
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads a text/event-stream until `done(events)` holds (or the timeout), then closes it. */
export function readEvents(client: Client, path: string, done: (events: SseEvent[]) => boolean, timeoutMs = 10_000): Promise<{ status: number; events: SseEvent[] }> {
  const cookie = [...client.cookies].map(([name, c]) => `${name}=${c.value}`).join('; ');
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const req = httpRequest({ host: '127.0.0.1', port: client.port, path, headers: { host: `127.0.0.1:${client.port}`, cookie, accept: 'text/event-stream' } }, (res) => {
      let buffer = '';
      const finish = (): void => {
        clearTimeout(timer);
        req.destroy();
        resolve({ status: res.statusCode ?? 0, events });
      };
      const timer = setTimeout(finish, timeoutMs);
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
        if (done(events)) finish();
      });
      res.on('end', finish);
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.end();
  });
}
