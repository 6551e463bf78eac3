import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  PublicHttpError,
  browserRefusal,
  genericErrorText,
  loadBrowserPolicy,
  type BrowserPolicy,
  type Logger,
} from '@ai-agent/common';
import type { AuthGuard } from './auth-guard.ts';
import type { Readiness } from './readiness.ts';

/** Registers a group of protected routes; each route puts `guard.check` in front of itself. */
export type ControlRoutes = (app: FastifyInstance, guard: AuthGuard) => void;

export interface ControlServerDeps {
  log: Logger;
  guard: AuthGuard;
  readiness: Readiness;
  version: string;
  /** Provider stages skipped after a failure until their re-probe: shown in /ready (the engine still serves). */
  providerHealth?: () => Iterable<{ provider: string; stage: string; healthy: boolean }>;
  /** Operator routes (reload, config state, calls, metrics), registered after the public ones. */
  routes: readonly ControlRoutes[];
  /** Host names and origins this listener answers to; default from HEALTH_ALLOWED_HOSTS. */
  browserPolicy?: BrowserPolicy;
  /** Demo mode (ARI is the built-in test Asterisk): /health says so, for the admin UI's banner. */
  demo?: boolean;
}

const MAX_BODY_BYTES = 64 * 1024;
/**
 * A slow or silent client cannot hold a connection (slowloris): its request head must be in within 5 s and the
 * whole request within 10 s, checked every second; an idle keep-alive socket closes after 5 s, any silent
 * socket after 30 s. No control route streams, so nothing legitimate is cut short.
 */
export const CONTROL_TIMEOUTS = { headersMs: 5_000, requestMs: 10_000, keepAliveMs: 5_000, idleMs: 30_000, checkEveryMs: 1_000 } as const;

/**
 * The engine's control plane: public liveness/readiness/health, and protected operator routes (in
 * `routes/`). Error bodies are always a generic text plus the request id; details go to the (scrubbed) log only.
 */
export function buildControlServer(deps: ControlServerDeps): FastifyInstance {
  const { log, guard, readiness } = deps;
  const policy = deps.browserPolicy ?? loadBrowserPolicy('health', process.env);
  const generic = (request: FastifyRequest, reply: FastifyReply, status: number) =>
    reply.code(status).send({ error: genericErrorText(status), requestId: request.id });
  const app = Fastify({
    loggerInstance: log.child({ component: 'control' }) as FastifyBaseLogger,
    // Per-request lines come from the onResponse hook below (debug for successes, info for refusals).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    requestTimeout: CONTROL_TIMEOUTS.requestMs,
    connectionTimeout: CONTROL_TIMEOUTS.idleMs,
    keepAliveTimeout: CONTROL_TIMEOUTS.keepAliveMs,
    http: { headersTimeout: CONTROL_TIMEOUTS.headersMs, connectionsCheckingInterval: CONTROL_TIMEOUTS.checkEveryMs },
    genReqId: () => randomUUID(),
    trustProxy: false,
    return503OnClosing: true,
    // Errors raised before routing (a malformed URL such as `/%zz…`) answer like every other error: Fastify's
    // own body would quote the path.
    frameworkErrors: (err, request, reply) => {
      guard.count('malformed_request');
      request.log.info({ reqId: request.id, code: err.code, reason: 'malformed_request', remote: request.socket.remoteAddress }, 'request rejected before routing');
      return generic(request, reply, 400);
    },
    // Malformed or oversized request heads (431, 400, 408) never reach a request; the answer is still generic.
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const reason = status === 431 ? 'header_overflow' : status === 408 ? 'request_timeout' : 'malformed_request';
      guard.count(reason);
      const requestId = randomUUID();
      log.info({ reqId: requestId, code: err.code, status, reason, remote: socket.remoteAddress }, 'malformed request refused');
      if (!socket.writable || socket.destroyed) return void socket.destroy();
      const body = JSON.stringify({ error: genericErrorText(status), requestId });
      socket.end(`HTTP/1.1 ${status} ${genericErrorText(status)}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `x-request-id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    },
  });

  // Every content type is read as raw bytes: a signature covers exactly what was sent, and the guard decodes
  // the body (JSON only) once the caller is known, so nothing parses input from an unauthenticated caller.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, undefined);
  });

  // A page in a browser on this host must not drive the API (CSRF) or read it under its own name (DNS rebinding).
  app.addHook('onRequest', async (request, reply) => {
    const refusal = browserRefusal(request.headers, policy);
    if (!refusal) return;
    guard.count(refusal);
    request.log.warn(
      { reqId: request.id, reason: refusal, remote: request.socket.remoteAddress },
      'browser-borne request refused (a host name callers use goes in HEALTH_ALLOWED_HOSTS)',
    );
    return generic(request, reply, 403);
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 400 ? 'info' : 'debug';
    app.log[level](
      { reqId: request.id, method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err instanceof PublicHttpError) {
      return reply.code(err.statusCode).send({ error: err.message, ...err.details, requestId: request.id });
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status === 413) guard.count('body_too_large');
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: err.code, reason: err.message }, 'request rejected');
    return reply.code(status).send({ error: genericErrorText(status), requestId: request.id });
  });
  app.setNotFoundHandler(async (request, reply) => generic(request, reply, 404));

  app.get('/live', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const waiting = readiness.waitingFor();
    const unhealthy = [...(deps.providerHealth?.() ?? [])].filter((h) => !h.healthy).map(({ provider, stage }) => ({ provider, stage }));
    const detail = unhealthy.length ? { unhealthyProviders: unhealthy } : {};
    if (waiting.length) return reply.code(503).send({ ready: false, waiting, ...detail });
    return { ready: true, ...detail };
  });
  app.get('/health', async () => ({
    status: readiness.waitingFor().length ? 'degraded' : 'ok',
    version: deps.version,
    uptime_s: Math.round(process.uptime()),
    ...(deps.demo ? { demo: true } : {}),
  }));

  for (const register of deps.routes) register(app, guard);

  return app;
}
