// One loopback HTTP server per fake: routes plain requests and WebSocket upgrades, records every
// request, checks auth the vendor's way, and tears down every socket (including stalled ones) on close.
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Every value of each query parameter, in order (a repeated parameter such as Deepgram's `keyterm`). */
  queryAll: Record<string, string[]>;
  /** Request headers without `authorization` (never recorded: tests must not leak keys into logs). */
  headers: Record<string, string>;
  /** Whether the credentials matched the fake's key. */
  authorized: boolean;
  /** Parsed body: JSON object, multipart fields, or undefined for upgrades. */
  body?: unknown;
  /** True once the client went away before the answer finished (e.g. an aborted stream). */
  clientAborted: boolean;
  receivedAt: number;
  /**
   * The connection the request came on: a serial number, when it opened (`performance.now()` of this
   * process) and how many requests it carried before this one (0: a new connection, so a handshake was paid).
   */
  connection: ConnectionInfo;
}

export interface ConnectionInfo {
  id: number;
  openedAt: number;
  earlierRequests: number;
}

/** An answer to send as-is: status, headers, and a body (object → JSON). */
export interface PlainAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  record: RecordedRequest;
  /** Aborts when the client disconnects or the fake closes. */
  signal: AbortSignal;
}

export interface UpgradeContext {
  req: IncomingMessage;
  url: URL;
  record: RecordedRequest;
  /** Aborts when the fake closes. */
  signal: AbortSignal;
}

export interface FakeServerSpec {
  /** Keys are `METHOD /path`. */
  http: Record<string, (ctx: RouteContext) => Promise<void>>;
  /**
   * Keys are paths. `accept` decides before the upgrade (return an answer to refuse it);
   * `connect` runs once the WebSocket is open.
   */
  ws: Record<
    string,
    {
      accept(ctx: UpgradeContext): Promise<PlainAnswer | undefined>;
      connect(ws: WebSocket, ctx: UpgradeContext): void;
      /** Extra headers for the 101 response. */
      upgradeHeaders?(ctx: UpgradeContext): Record<string, string>;
    }
  >;
  authorize(req: IncomingMessage): boolean;
  unauthorized(req: IncomingMessage): PlainAnswer;
  notFound(req: IncomingMessage): PlainAnswer;
  /** Serve https/wss with this key and certificate instead of plain http/ws. */
  tls?: { key: string; cert: string };
}

export interface FakeServer {
  readonly port: number;
  readonly origin: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export function sendPlain(res: ServerResponse, answer: PlainAnswer): void {
  const body = typeof answer.body === 'string' || Buffer.isBuffer(answer.body) ? answer.body : JSON.stringify(answer.body);
  const type = typeof answer.body === 'string' || Buffer.isBuffer(answer.body) ? 'text/plain' : 'application/json';
  res.writeHead(answer.status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...answer.headers });
  res.end(body);
}

/** Refuses a WebSocket upgrade with a real HTTP answer on the raw socket, as vendors do. */
function refuseUpgrade(socket: Duplex, answer: PlainAnswer): void {
  const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  const headers: Record<string, string> = {
    'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...answer.headers,
  };
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${answer.status} ${statusText(answer.status)}\r\n${head}\r\n${body}`);
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
  };
  return texts[status] ?? 'Error';
}

/** Connections as the server accepted them (the TLS socket under TLS), numbered in order. */
const connections = new WeakMap<object, { id: number; openedAt: number; requests: number }>();
let connectionSerial = 0;

function trackConnection(socket: object): void {
  connections.set(socket, { id: ++connectionSerial, openedAt: performance.now(), requests: 0 });
}

function connectionOf(req: IncomingMessage): ConnectionInfo {
  let c = connections.get(req.socket);
  if (!c) connections.set(req.socket, (c = { id: ++connectionSerial, openedAt: performance.now(), requests: 0 }));
  return { id: c.id, openedAt: c.openedAt, earlierRequests: c.requests++ };
}

function recordOf(req: IncomingMessage, url: URL, authorized: boolean): RecordedRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k !== 'authorization' && v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    queryAll: Object.fromEntries([...new Set(url.searchParams.keys())].map((k) => [k, url.searchParams.getAll(k)])),
    headers,
    authorized,
    clientAborted: false,
    receivedAt: Date.now(),
    connection: connectionOf(req),
  };
}

export async function startFakeServer(spec: FakeServerSpec): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const closing = new AbortController();
  const wss = new WebSocketServer({ noServer: true });
  // Extra 101 headers per upgrade request, e.g. a vendor's request id.
  const upgradeHeaders = new WeakMap<IncomingMessage, Record<string, string>>();
  wss.on('headers', (headers, req) => {
    for (const [k, v] of Object.entries(upgradeHeaders.get(req) ?? {})) headers.push(`${k}: ${v}`);
  });

  const onRequest: RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorized = spec.authorize(req);
    const record = recordOf(req, url, authorized);
    requests.push(record);
    const clientGone = new AbortController();
    const onClosing = (): void => clientGone.abort();
    const onGone = (): void => {
      if (!res.writableFinished) record.clientAborted = true;
      clientGone.abort();
      // Answered: the fake's own close no longer concerns this request (listeners would pile up per request).
      closing.signal.removeEventListener('abort', onClosing);
    };
    res.on('close', onGone);
    closing.signal.addEventListener('abort', onClosing, { once: true });

    const route = spec.http[`${req.method} ${url.pathname}`];
    if (!route) return sendPlain(res, spec.notFound(req));
    if (!authorized) return sendPlain(res, spec.unauthorized(req));
    route({ req, res, url, record, signal: clientGone.signal }).catch((err: unknown) => {
      // A fake must never crash the test process; a broken handler answers 500.
      if (!res.headersSent) sendPlain(res, { status: 500, body: { error: { message: String(err), type: 'server_error' } } });
      else res.destroy();
    });
  };
  const server = spec.tls ? createTlsServer({ key: spec.tls.key, cert: spec.tls.cert }, onRequest) : createServer(onRequest);

  // Tracked so close() can cut stalled connections (the raw TCP sockets, under TLS too).
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    trackConnection(socket);
  });
  server.on('secureConnection', (socket: Socket) => trackConnection(socket));

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const authorized = spec.authorize(req);
    const record = recordOf(req, url, authorized);
    requests.push(record);
    socket.on('error', () => socket.destroy());
    const route = spec.ws[url.pathname];
    if (!route) return refuseUpgrade(socket, spec.notFound(req));
    if (!authorized) return refuseUpgrade(socket, spec.unauthorized(req));
    const ctx: UpgradeContext = { req, url, record, signal: closing.signal };
    route
      .accept(ctx)
      .then((refusal) => {
        if (refusal) return refuseUpgrade(socket, refusal);
        const extra = route.upgradeHeaders?.(ctx);
        if (extra) upgradeHeaders.set(req, extra);
        wss.handleUpgrade(req, socket, head, (ws) => route.connect(ws, ctx));
      })
      .catch(() => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Fakes stand in for remote vendors but only ever listen on loopback.
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    origin: `127.0.0.1:${port}`,
    requests,
    async close() {
      closing.abort();
      for (const client of wss.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads a whole request body (bounded: fakes are fed by tests, but a runaway client must not OOM them). */
export async function readBody(req: IncomingMessage, limit = 50 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of req) {
    size += (part as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    parts.push(part as Buffer);
  }
  return Buffer.concat(parts);
}

/** Drops the TCP connection without an HTTP terminator or WebSocket close frame. */
export function dropConnection(target: ServerResponse | WebSocket): void {
  if ('terminate' in target) target.terminate();
  else target.socket?.destroy();
}
