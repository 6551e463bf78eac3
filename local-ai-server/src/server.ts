// The WebSocket listener: bind policy, authentication and admission happen at the HTTP upgrade, before a
// single WebSocket message is read; accepted sockets become Connections.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import {
  AuthFailureLimiter,
  ConfigError,
  bearerToken,
  browserRefusal,
  loadBrowserPolicy,
  readSecret,
  resolveBindHost,
  safeEqual,
  trustsLoopback,
  type Logger,
} from '@ai-agent/common';
import type { LocalAiConfig } from './config.ts';
import { Connection } from './connection.ts';
import { newCounters, type Counters } from './counters.ts';
import type { Engines } from './engines.ts';
import { SynthesisGate } from './tts/synthesis-gate.ts';

export interface LocalAiServer {
  readonly host: string;
  readonly port: number;
  readonly counters: Counters;
  close(): Promise<void>;
}

/** How often idle connections are looked for: one sweep for all connections instead of a timer each. */
const IDLE_SWEEP_MS = 1000;
/**
 * A slow or silent client cannot hold a socket before its upgrade (slowloris): Node's defaults wait a minute
 * for a request head and five for a body. An upgrade is a bare request head, so seconds are plenty; Node answers
 * a generic 408 and closes.
 */
const HTTP_TIMEOUTS = { headersTimeout: 5_000, requestTimeout: 10_000, connectionsCheckingInterval: 1_000 } as const;

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`);
}

export async function startLocalAiServer(
  cfg: LocalAiConfig,
  engines: Engines,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalAiServer> {
  // Throws (naming LOCAL_WS_AUTH_TOKEN) before anything listens when an off-loopback bind lacks a token.
  const host = resolveBindHost('local_ws', env, log);
  const token = readSecret('LOCAL_WS_AUTH_TOKEN', env);
  // Without a token, loopback is what keeps others out; an operator who cannot trust loopback (a reverse proxy
  // on this host) must set one.
  if (!token && !trustsLoopback('local_ws', env)) {
    throw new ConfigError('LOCAL_WS_AUTH_TOKEN', 'required when LOCAL_WS_TRUST_LOOPBACK is false');
  }

  const counters = newCounters();
  const limiter = new AuthFailureLimiter();
  const connections = new Set<Connection>();
  const policy = loadBrowserPolicy('local_ws', env, cfg.server.allowed_origins);
  const limits = {
    maxStreams: cfg.server.max_streams_per_connection,
    connectionsWithoutStt: () => {
      let idle = 0;
      for (const c of connections) if (!c.holdsStt) idle++;
      return idle;
    },
    ttsGate: new SynthesisGate(cfg.tts.max_concurrent, () => connections.size),
    maxQueuedChars: cfg.tts.max_queued_chars_per_connection,
    maxSendBuffer: cfg.server.max_send_buffer_bytes,
  };
  const wss = new WebSocketServer({ noServer: true, maxPayload: cfg.server.max_payload_bytes, perMessageDeflate: false });

  const http: Server = createServer(HTTP_TIMEOUTS, (req, res) => {
    if (browserRefusal(req.headers, policy)) {
      counters.refusedConnections += 1;
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden');
      return;
    }
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required');
  });

  const admit = (req: IncomingMessage, socket: Duplex): boolean => {
    const remote = req.socket.remoteAddress ?? 'unknown';
    // A page in a browser (DNS rebinding, or a site not allowlisted) must not reach the engines.
    const refusal = browserRefusal(req.headers, policy);
    if (refusal) {
      counters.refusedConnections += 1;
      log.warn({ remote, reason: refusal }, 'refused a browser-borne connection (a host name clients use goes in LOCAL_WS_ALLOWED_HOSTS)');
      refuse(socket, 403, 'Forbidden');
      return false;
    }
    if (token) {
      // The token is checked first: a blocked source (others' failures on a shared address) never locks out a
      // client that holds it; its wrong tokens are refused without a log line each.
      const offered = bearerToken(req.headers.authorization);
      if (!offered || !safeEqual(offered, token)) {
        counters.authFailures += 1;
        if (!limiter.isBlocked(remote)) {
          limiter.recordFailure(remote);
          const reason = offered ? 'bad_token' : 'missing_credentials';
          log.warn({ remote, reason, authFailures: counters.authFailures }, 'authentication failed');
        }
        refuse(socket, 401, 'Unauthorized');
        return false;
      }
    }
    if (connections.size >= cfg.server.max_connections) {
      counters.refusedConnections += 1;
      log.warn({ remote, max: cfg.server.max_connections }, 'refused a connection: connection limit reached');
      refuse(socket, 503, 'Service Unavailable');
      return false;
    }
    return true;
  };

  http.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (!admit(req, socket)) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      counters.connections += 1;
      const conn = new Connection(ws, engines, limits, counters, log.child({ conn: counters.connections }));
      connections.add(conn);
      ws.on('close', () => connections.delete(conn));
    });
  });

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const conn of connections) {
      if (now - conn.lastActivity > cfg.server.idle_timeout_ms) {
        log.info('closing an idle connection');
        conn.close(1001, 'idle timeout');
      }
    }
  }, IDLE_SWEEP_MS);
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(cfg.server.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  log.info({ host, port, auth: token ? 'bearer token' : 'off (loopback only)' }, 'local AI server listening');

  return {
    host,
    port,
    counters,
    async close() {
      clearInterval(sweep);
      for (const conn of connections) conn.close(1001, 'server shutting down');
      // Clients get a moment to answer the close frame; then whatever is left is cut.
      await new Promise((resolve) => setTimeout(resolve, connections.size > 0 ? 200 : 0));
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await engines.close();
    },
  };
}
