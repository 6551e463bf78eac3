import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { PublicHttpError, genericErrorText, type Logger } from '@ai-agent/common';
import type { AuthGuard } from './auth-guard.ts';
import type { Readiness } from './readiness.ts';

/** Registers a group of protected routes; each route puts `guard.check` in front of itself. */
export type ControlRoutes = (app: FastifyInstance, guard: AuthGuard) => void;

export interface ControlServerDeps {
  log: Logger;
  guard: AuthGuard;
  readiness: Readiness;
  version: string;
  /** Operator routes (reload, config state, calls, metrics), registered after the public ones. */
  routes: readonly ControlRoutes[];
}

const MAX_BODY_BYTES = 64 * 1024;

/**
 * The engine's control plane: public liveness/readiness/health, and protected operator routes (in
 * `routes/`). Error bodies are always a generic text plus the request id; details go to the (scrubbed) log only.
 */
export function buildControlServer(deps: ControlServerDeps): FastifyInstance {
  const { log, guard, readiness } = deps;
  const app = Fastify({
    loggerInstance: log.child({ component: 'control' }) as FastifyBaseLogger,
    // Per-request lines come from the onResponse hook below (debug for successes, info for refusals).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    genReqId: () => randomUUID(),
    trustProxy: false,
    return503OnClosing: true,
  });

  // Keep the raw body: signed requests are verified over the exact bytes sent.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    request.rawBody = body as string;
    if ((body as string).length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      // The parser's message quotes the body's first bytes (possibly a secret's prefix): never log it.
      done(new PublicHttpError(400, 'body is not valid JSON'), undefined);
    }
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
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: err.code, reason: err.message }, 'request rejected');
    return reply.code(status).send({ error: genericErrorText(status), requestId: request.id });
  });
  app.setNotFoundHandler(async (request, reply) => reply.code(404).send({ error: genericErrorText(404), requestId: request.id }));

  app.get('/live', async () => ({ status: 'ok' }));
  app.get('/ready', async (_request, reply) => {
    const waiting = readiness.waitingFor();
    if (waiting.length) return reply.code(503).send({ ready: false, waiting });
    return { ready: true };
  });
  app.get('/health', async () => ({
    status: readiness.waitingFor().length ? 'degraded' : 'ok',
    version: deps.version,
    uptime_s: Math.round(process.uptime()),
  }));

  for (const register of deps.routes) register(app, guard);

  return app;
}
