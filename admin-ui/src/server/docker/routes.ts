// GET /api/containers and GET /api/containers/:id/logs: the product's containers and their redacted logs.
// Nothing here can change a container; with Docker absent both answer 503 and the rest of the UI works.
import { PassThrough } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, preHandlerHookHandler } from 'fastify';
import { LOG_LEVELS, passes, type LogFilter, type LogLevel, type LogLine } from './log-lines.ts';
import { CONTAINER_ID, DockerUnavailableError, type DockerReader } from './reader.ts';

export interface DockerRouteOptions {
  requireScope(scope: string): preHandlerHookHandler;
  docker: DockerReader | null;
}

/** Each follow holds a proxy connection open; this bounds what one admin UI asks of Docker. */
const MAX_FOLLOWS = 16;
const HEARTBEAT_MS = 15_000;
const MAX_TAIL = 5000;

interface LogQuery {
  tail: number;
  follow: '0' | '1' | 'true' | 'false';
  level?: LogLevel;
  q?: string;
}

function failure(reply: FastifyReply, log: FastifyBaseLogger, err: unknown): FastifyReply {
  if (err instanceof DockerUnavailableError) {
    log.warn({ reason: (err.cause as Error | undefined)?.message }, 'docker unavailable');
    return reply.code(503).send({ error: 'docker unavailable' });
  }
  if ((err as { statusCode?: number }).statusCode === 404) return reply.code(404).send({ error: 'no such container' });
  log.error({ reason: (err as Error).message, status: (err as { statusCode?: number }).statusCode }, 'docker request failed');
  return reply.code(502).send({ error: 'docker request failed' });
}

function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export async function dockerRoutes(app: FastifyInstance, opts: DockerRouteOptions): Promise<void> {
  const { docker } = opts;
  let follows = 0;

  app.get('/api/containers', { preHandler: opts.requireScope('containers:read') }, async (request, reply) => {
    if (!docker) return reply.code(503).send({ error: 'docker unavailable' });
    try {
      return await docker.list();
    } catch (err) {
      return failure(reply, request.log, err);
    }
  });

  app.get<{ Params: { id: string }; Querystring: LogQuery }>(
    '/api/containers/:id/logs',
    {
      preHandler: opts.requireScope('logs:read'),
      schema: {
        params: { type: 'object', properties: { id: { type: 'string', pattern: CONTAINER_ID.source } }, required: ['id'] },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tail: { type: 'integer', minimum: 0, maximum: MAX_TAIL, default: 200 },
            follow: { type: 'string', enum: ['0', '1', 'true', 'false'], default: '0' },
            level: { type: 'string', enum: [...LOG_LEVELS] },
            q: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    async (request, reply) => {
      if (!docker) return reply.code(503).send({ error: 'docker unavailable' });
      const { id } = request.params;
      const { tail, level, q } = request.query;
      const follow = request.query.follow === '1' || request.query.follow === 'true';
      const filter: LogFilter = { level, q };

      if (!follow) {
        const lines: LogLine[] = [];
        try {
          await docker.logs(id, { tail, follow, signal: AbortSignal.timeout(10_000) }, (line) => {
            if (passes(line, filter)) lines.push(line);
          });
        } catch (err) {
          return failure(reply, request.log, err);
        }
        return { id, lines };
      }

      // The container is checked before the stream opens, so a foreign id is a plain 404, not an empty stream.
      try {
        if (!(await docker.find(id))) return reply.code(404).send({ error: 'no such container' });
      } catch (err) {
        return failure(reply, request.log, err);
      }
      if (follows >= MAX_FOLLOWS) return reply.code(429).send({ error: 'too many log streams' });
      follows++;
      const abort = new AbortController();
      const out = new PassThrough();
      const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS);
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        follows--;
        clearInterval(heartbeat);
        abort.abort();
      };
      request.raw.once('close', close);
      void docker
        .logs(id, { tail, follow, signal: abort.signal }, (line) => {
          if (passes(line, filter)) out.write(sseEvent('line', line));
        })
        .then(
          () => out.end(sseEvent('end', { reason: 'logs ended' })),
          (err: unknown) => {
            request.log.warn({ reason: (err as Error).message }, 'log follow failed');
            out.end(sseEvent('end', { reason: err instanceof DockerUnavailableError ? 'docker unavailable' : 'logs failed' }));
          },
        )
        .finally(close);
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('x-accel-buffering', 'no')
        .send(out);
    },
  );
}
