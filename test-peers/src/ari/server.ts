import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { isLoopbackHost, safeEqual, type Logger } from '@ai-agent/common';
import type { AsteriskCore } from '../asterisk/core.ts';
import { AriError } from '../asterisk/errors.ts';
import { HANDLERS, type Handler } from './handlers.ts';
import { RESOURCES, resourceDeclaration, resourceListing, type OperationSpec } from './spec.ts';

export interface AriServerOptions {
  core: AsteriskCore;
  username: string;
  password: string;
  log: Logger;
}

interface Route {
  method: string;
  segments: string[];
  op: OperationSpec;
  handler: Handler;
}

/** ari.conf's default realm, sent in WWW-Authenticate on 401 (res/res_ari.c). */
const AUTH_REALM = 'Asterisk REST Interface';
/** Asterisk's HTTP server limit on request bodies is small; the peer refuses anything larger. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Asterisk's HTTP server as far as ARI needs it (res/res_ari.c, res/ari/resource_events.c,
 * channels/chan_websocket.c): /ari/* REST with Basic auth or ?api_key=user:pass, the API description
 * under /ari/api-docs/, the events WebSocket at /ari/events, and incoming media WebSockets at
 * /media/<connection_id> (no ARI auth: the connection id is the secret).
 */
export class AriServer {
  private readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly eventsWss = new WebSocketServer({ noServer: true });
  private readonly mediaWss = new WebSocketServer({
    noServer: true,
    // chan_websocket registers the single protocol "media"; a client naming none is accepted too.
    handleProtocols: (protocols) => (protocols.has('media') ? 'media' : false),
  });
  private readonly sockets = new Set<Duplex>();
  /** Until this time (performance.now()), /ari/events upgrades are refused: the events side is "down". */
  private eventsDownUntil = 0;

  constructor(private readonly opts: AriServerOptions) {
    for (const resource of RESOURCES) {
      for (const api of resource.apis) {
        for (const op of api.operations) {
          if (op.upgrade) continue;
          const handler = HANDLERS[`${resource.name}.${op.nickname}`];
          if (!handler) throw new Error(`no handler for ${resource.name}.${op.nickname}`);
          this.routes.push({ method: op.httpMethod, segments: api.path.split('/').filter(Boolean), op, handler });
        }
      }
    }
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        opts.log.error({ err }, 'ARI handler failed');
        if (!res.headersSent) this.json(res, 500, { message: 'Internal Server Error' });
      });
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(host: string, port: number): Promise<number> {
    if (!isLoopbackHost(host)) throw new Error(`the test peer only listens on loopback, not ${host}`);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  /**
   * What `core restart` or a network cut does to the events side: every events WebSocket drops at once
   * (without a close frame) and reconnects are refused for `downMs`. Channels, bridges and media carry on,
   * and events meanwhile reach no one, as on a real Asterisk whose apps have lost their connection.
   */
  dropEvents(downMs: number): void {
    this.eventsDownUntil = performance.now() + downMs;
    for (const ws of this.eventsWss.clients) ws.terminate();
  }

  async close(): Promise<void> {
    for (const ws of this.eventsWss.clients) ws.terminate();
    for (const ws of this.mediaWss.clients) ws.terminate();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorised(req: IncomingMessage, url: URL): boolean {
    const header = req.headers.authorization;
    let credentials: string | null = null;
    if (header?.startsWith('Basic ')) credentials = Buffer.from(header.slice(6), 'base64').toString('utf8');
    else if (url.searchParams.has('api_key')) credentials = url.searchParams.get('api_key');
    if (credentials === null) return false;
    const colon = credentials.indexOf(':');
    if (colon < 0) return false;
    return safeEqual(credentials.slice(0, colon), this.opts.username) && safeEqual(credentials.slice(colon + 1), this.opts.password);
  }

  private json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (status === 204) {
      res.writeHead(204, { Server: 'Asterisk/test-peer', ...headers });
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      Server: 'Asterisk/test-peer',
      ...headers,
    });
    res.end(text);
  }

  private unauthorised(res: ServerResponse): void {
    this.json(res, 401, { message: 'Authentication required' }, { 'WWW-Authenticate': `Basic realm="${AUTH_REALM}"` });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://peer.invalid');
    if (!url.pathname.startsWith('/ari/')) {
      this.json(res, 404, { message: 'Not found' });
      return;
    }
    if (!this.authorised(req, url)) {
      this.opts.log.warn({ path: url.pathname }, 'ARI authentication failed');
      this.unauthorised(res);
      return;
    }
    const path = url.pathname.slice(4);
    const basePath = `http://${req.headers.host ?? '127.0.0.1'}/ari`;
    if (path.startsWith('/api-docs/')) {
      const name = path.slice('/api-docs/'.length).replace(/\.json$/, '');
      const doc = name === 'resources' ? resourceListing(basePath) : resourceDeclaration(name, basePath);
      if (!doc) this.json(res, 404, { message: 'Resource not found' });
      else this.json(res, 200, doc);
      return;
    }
    const segments = path.split('/').filter(Boolean);
    const candidates = this.routes.filter((r) => matches(r.segments, segments) !== null);
    if (candidates.length === 0) {
      this.json(res, 404, { message: 'Resource not found' });
      return;
    }
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      this.json(res, 405, { message: 'Invalid method' });
      return;
    }
    let bodyObj: Record<string, unknown> = {};
    try {
      bodyObj = await readJsonBody(req);
    } catch (err) {
      this.json(res, 400, { message: (err as Error).message });
      return;
    }
    const query: Record<string, string | undefined> = {};
    for (const [k, v] of url.searchParams) if (k !== 'api_key') query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
    // Body keys other than `variables` are read as query parameters (the generated *_parse_body functions).
    for (const [k, v] of Object.entries(bodyObj)) {
      if (k !== 'variables' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) query[k] = String(v);
    }
    try {
      const variables = variablesOf(bodyObj.variables);
      const result = await route.handler({ path: matches(route.segments, segments)!, query, variables, core: this.opts.core });
      this.json(res, result.status, result.body);
      if (result.after) setImmediate(result.after);
    } catch (err) {
      if (err instanceof AriError) this.json(res, err.status, { message: err.message });
      else throw err;
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://peer.invalid');
    socket.on('error', () => socket.destroy());
    if (url.pathname === '/ari/events') {
      if (performance.now() < this.eventsDownUntil) {
        rejectUpgrade(socket, 503, { message: 'Service Unavailable' });
        return;
      }
      if (!this.authorised(req, url)) {
        this.opts.log.warn('ARI events authentication failed');
        rejectUpgrade(socket, 401, { message: 'Authentication required' }, { 'WWW-Authenticate': `Basic realm="${AUTH_REALM}"` });
        return;
      }
      const apps = (url.searchParams.get('app') ?? '').split(',').map((a) => a.trim()).filter(Boolean);
      if (apps.length === 0) {
        rejectUpgrade(socket, 400, { message: "Missing param 'app'" });
        return;
      }
      const subscribeAll = url.searchParams.get('subscribeAll') === 'true';
      this.eventsWss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        ws.on('message', () => {}); // Asterisk ignores messages from the app on this socket.
        this.opts.core.apps.register(apps, ws, subscribeAll);
      });
      return;
    }
    if (url.pathname.startsWith('/media/')) {
      const id = decodeURIComponent(url.pathname.slice('/media/'.length));
      const pending = this.opts.core.mediaSockets.get(id);
      if (!pending) {
        rejectUpgrade(socket, 404, { message: 'WebSocket instance not found' });
        return;
      }
      if (pending.connected) {
        rejectUpgrade(socket, 409, { message: 'Another websocket connection exists for this connection id' });
        return;
      }
      const offered = req.headers['sec-websocket-protocol'];
      if (offered && !offered.split(',').map((p) => p.trim()).includes('media')) {
        rejectUpgrade(socket, 400, { message: 'No supported protocol' });
        return;
      }
      pending.connected = true;
      this.mediaWss.handleUpgrade(req, socket, head, (ws: WebSocket) => pending.attach(ws));
      return;
    }
    rejectUpgrade(socket, 404, { message: 'Not found' });
  }
}

function matches(pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith('{') && p.endsWith('}')) params[p.slice(1, -1)] = decodeURIComponent(segments[i]);
    else if (p !== segments[i]) return null;
  }
  return params;
}

async function readJsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('Request body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('Error parsing request body');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('Error parsing request body');
  return parsed as Record<string, unknown>;
}

/** `{"variables": {...}}` values must be strings (json_to_ast_variables). */
function variablesOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const obj = (value as { variables?: unknown }).variables !== undefined ? (value as { variables: unknown }).variables : value;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new AriError(400, "Invalid 'variables' object");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v !== 'string') throw new AriError(400, "Only string values in the 'variables' object allowed");
    out[k] = v;
  }
  return out;
}

function rejectUpgrade(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict' }[status] ?? 'Error';
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}Connection: close\r\n\r\n${text}`,
  );
}
