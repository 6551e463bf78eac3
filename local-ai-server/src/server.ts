// The WebSocket listener: bind policy, authentication and admission happen at the HTTP upgrade, before a
// single WebSocket message is read; accepted sockets become Connections.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AuthFailureLimiter, bearerToken, readSecret, resolveBindHost, safeEqual, type Logger } from '@ai-agent/common';
import type { LocalAiConfig } from './config.ts';
import { Connection } from './connection.ts';
import { newCounters, type Counters } from './counters.ts';
import type { Engines } from './engines.ts';

export interface LocalAiServer {
  readonly host: string;
  readonly port: number;
  readonly counters: Counters;
  close(): Promise<void>;
}

/** How often idle connections are looked for: one sweep for all connections instead of a timer each. */
const IDLE_SWEEP_MS = 1000;

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

  const counters = newCounters();
  const limiter = new AuthFailureLimiter();
  const connections = new Set<Connection>();
  const origins = new Set(cfg.server.allowed_origins);
  const wss = new WebSocketServer({ noServer: true, maxPayload: cfg.server.max_payload_bytes, perMessageDeflate: false });

  const http: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    res.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket upgrade required');
  });

  const admit = (req: IncomingMessage, socket: Duplex): boolean => {
    const remote = req.socket.remoteAddress ?? 'unknown';
    const origin = req.headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      counters.refusedConnections += 1;
      log.warn({ remote }, 'refused a connection from a browser origin that is not allowlisted');
      refuse(socket, 403, 'Forbidden');
      return false;
    }
    if (token) {
      if (limiter.isBlocked(remote)) {
        counters.authFailures += 1;
        refuse(socket, 401, 'Unauthorized');
        return false;
      }
      const offered = bearerToken(req.headers.authorization);
      if (!offered || !safeEqual(offered, token)) {
        limiter.recordFailure(remote);
        counters.authFailures += 1;
        log.warn({ remote, authFailures: counters.authFailures }, 'authentication failed');
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
      const conn = new Connection(ws, engines, cfg.server.max_streams_per_connection, counters, log.child({ conn: counters.connections }));
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
