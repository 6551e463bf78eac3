import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { PublicHttpError, genericErrorText, type Logger } from '@ai-agent/common';
import { hostGuard } from './request-guards.ts';

/** Every body except a config save (which sets its own) is small: credentials, names, a secret value. */
const BODY_LIMIT = 16 * 1024;
/**
 * A slow or silent client cannot hold a socket (slowloris): the request head within 10 s, the whole request
 * (1 MB at most) within 30 s. Responses are not limited: the event stream stays open as long as its session.
 */
const TIMEOUTS = { headersMs: 10_000, requestMs: 30_000, checkEveryMs: 1_000 } as const;

export interface AppOptions {
  log: Logger;
  /** Host header values accepted; read per request because the port is known only once listening. */
  allowedHosts: () => readonly string[];
  /** The built web app (index.html and assets), served when present. */
  webRoot: string;
  /** Routes anyone may call (login, refresh). */
  publicRoutes: FastifyPluginAsync;
  /** Routes behind `authenticate` (its onRequest hook runs before each). */
  protectedRoutes: FastifyPluginAsync;
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** Proxies whose X-Forwarded-For is believed (request.ip becomes the client they name); none by default. */
  trustedProxies?: readonly string[];
}

/** Strict CSP: scripts, styles and connections from this origin only; nothing inline, no frames. */
const CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/**
 * The admin UI's HTTP server: security headers, Host/Origin allowlist, cookies, rate limits, body limits,
 * generic error bodies (details go to the scrubbed log only), the API and the static web app.
 */
export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    trustProxy: opts.trustedProxies?.length ? [...opts.trustedProxies] : false,
    return503OnClosing: true,
    requestTimeout: TIMEOUTS.requestMs,
    http: { headersTimeout: TIMEOUTS.headersMs, connectionsCheckingInterval: TIMEOUTS.checkEveryMs },
    // Malformed, oversized or too slow request heads never become a request: a generic answer, the reason logged.
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      opts.log.info({ code: err.code, status, remote: socket.remoteAddress }, 'malformed request refused');
      if (!socket.writable || socket.destroyed) return void socket.destroy();
      const body = JSON.stringify({ error: genericErrorText(status) });
      socket.end(`HTTP/1.1 ${status} ${genericErrorText(status)}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    },
    // A malformed URL fails before routing; Fastify's own body would quote it.
    frameworkErrors: (err, request, reply) => {
      request.log.info({ reqId: request.id, code: err.code }, 'request rejected before routing');
      void (reply as FastifyReply).code(400).send({ error: genericErrorText(400) });
    },
  });

  // JSON only: a cross-site form can send text/plain or urlencoded bodies without a preflight.
  app.removeContentTypeParser(['text/plain']);
  app.addHook('onRequest', hostGuard(opts.allowedHosts));
  await app.register(helmet, { contentSecurityPolicy: CSP, crossOriginEmbedderPolicy: true, hsts: false });
  await app.register(cookie);
  await app.register(rateLimit, { global: true, max: 600, timeWindow: '1 minute' });

  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });
  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 400 ? 'info' : 'debug';
    app.log[level]({ reqId: request.id, method: request.method, url: request.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string; validation?: unknown }, request, reply) => {
    if (err instanceof PublicHttpError) return reply.code(err.statusCode).send({ error: err.message });
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ reqId: request.id, code: err.code }, 'request rejected');
    return reply.code(status).send({ error: genericErrorText(status) });
  });

  const hasWeb = existsSync(join(opts.webRoot, 'index.html'));
  if (hasWeb) await app.register(fastifyStatic, { root: opts.webRoot, index: 'index.html', dotfiles: 'deny' });
  app.setNotFoundHandler(async (request, reply) => {
    // Client-side routes (/calls/abc) load the app, which then routes itself; /api never does.
    if (hasWeb && (request.method === 'GET' || request.method === 'HEAD') && !request.url.startsWith('/api/')) {
      return reply.type('text/html').sendFile('index.html');
    }
    return reply.code(404).send({ error: genericErrorText(404) });
  });

  await app.register(opts.publicRoutes);
  await app.register(async (scope) => {
    scope.addHook('onRequest', opts.authenticate);
    await scope.register(opts.protectedRoutes);
  });
  return app;
}
