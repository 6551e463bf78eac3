import type { FastifyInstance, FastifyReply } from 'fastify';
import { EngineUnavailable, type EngineReply } from '../engine/engine-client.ts';
import { principalOf } from '../http/authenticate.ts';
import { historyFilters, type HistoryFilterQuery } from './history-filters.ts';
import { auditRequest, type RouteContext } from './context.ts';

const CALL_ID = { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } as const;
const ID_PARAMS = { type: 'object', required: ['id'], properties: { id: CALL_ID } } as const;
const LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    before: CALL_ID,
    // Checked by historyFilters (a clear reason per key), then by the engine again.
    from: { type: 'string' },
    to: { type: 'string' },
    context: { type: 'string' },
    outcome: { type: 'string' },
    caller: { type: 'string' },
  },
} as const;

/** SSE comments keep idle proxies from closing the stream. */
const HEARTBEAT_MS = 15_000;

/**
 * Relays an engine answer: success bodies as they are (the engine already redacts them), refusals as a
 * generic body of the same status, and an engine that does not answer as 503.
 */
async function relay(reply: FastifyReply, call: () => Promise<EngineReply>): Promise<FastifyReply> {
  let answer: EngineReply;
  try {
    answer = await call();
  } catch (err) {
    if (err instanceof EngineUnavailable) return reply.code(503).send({ error: 'engine unavailable' });
    throw err;
  }
  if (answer.status < 300) return reply.code(answer.status).send(answer.body);
  if (answer.status === 404) return reply.code(404).send({ error: 'not found' });
  reply.log.warn({ status: answer.status }, 'engine refused a request');
  return reply.code(502).send({ error: 'engine refused the request' });
}

/** Engine status, calls, hangup and the live event stream. */
export function engineRoutes(ctx: RouteContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const callsRead = { onRequest: ctx.requireScope('calls:read') };

    app.get('/api/engine/status', callsRead, async () => ctx.feed.engineStatus());

    app.get<{ Querystring: { limit: number; before?: string } & HistoryFilterQuery }>('/api/calls', { ...callsRead, schema: { querystring: LIST_QUERY } }, async (request, reply) => {
      const { limit, before } = request.query;
      const filters = historyFilters(request.query);
      if ('key' in filters) return reply.code(400).send({ error: 'invalid filter', key: filters.key, reason: filters.reason });
      const query = new URLSearchParams({ limit: String(limit), ...(before ? { before } : {}), ...filters });
      return relay(reply, () => ctx.engine.request('GET', `/calls?${query}`));
    });

    app.get<{ Params: { id: string } }>('/api/calls/:id', { ...callsRead, schema: { params: ID_PARAMS } }, async (request, reply) =>
      relay(reply, () => ctx.engine.request('GET', `/calls/${encodeURIComponent(request.params.id)}`)),
    );

    app.post<{ Params: { id: string } }>(
      '/api/calls/:id/hangup',
      { onRequest: ctx.requireScope('calls:write'), schema: { params: ID_PARAMS } },
      async (request, reply) => {
        const { id } = request.params;
        auditRequest(ctx, request, 'call.hangup', { callId: id });
        return relay(reply, () => ctx.engine.request('POST', `/calls/${encodeURIComponent(id)}/hangup`));
      },
    );

    app.get('/api/events', { ...callsRead, config: { rateLimit: false } }, async (request, reply) => {
      const expiresAt = principalOf(request).expiresAt;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-content-type-options': 'nosniff',
      });
      res.write('retry: 3000\n\n');
      const unsubscribe = ctx.feed.subscribe((event) => res.write(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`));
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      // A session's stream ends with its access token: the page refreshes and reconnects, so a revoked or
      // expired session does not keep receiving.
      const expiry = expiresAt === undefined ? undefined : setTimeout(() => res.end(), Math.max(0, expiresAt * 1000 - Date.now()));
      res.on('close', () => {
        unsubscribe();
        clearInterval(heartbeat);
        clearTimeout(expiry);
      });
    });
  };
}
