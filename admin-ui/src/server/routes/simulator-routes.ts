// The call simulator page's server side: the scenario files the engine offers, a run (audit-logged, one at a
// time per engine) and its progress and report, relayed to the engine's /simulations routes (signed as admin-ui
// like every engine request). The engine reads and validates the scenarios; nothing here touches a file.
import type { FastifyInstance } from 'fastify';
import { SCENARIO_FILE_PATTERN } from '@ai-agent/common/simulation';
import { EngineUnavailable, type EngineReply } from '../engine/engine-client.ts';
import { principalOf } from '../http/authenticate.ts';
import { auditRequest, type RouteContext } from './context.ts';

const RUN_ID = { type: 'string', pattern: '^[0-9a-f-]{36}$' } as const;

/** An engine answer for the page: success and its own refusals (busy, invalid scenario) as they are. */
async function ask(call: () => Promise<EngineReply>): Promise<EngineReply> {
  try {
    const answer = await call();
    if (answer.status < 300 || [400, 404, 409, 503].includes(answer.status)) return answer;
    return { status: 502, body: { error: 'engine refused the request' } };
  } catch (err) {
    if (err instanceof EngineUnavailable) return { status: 503, body: { error: 'engine unavailable' } };
    throw err;
  }
}

export function simulatorRoutes(ctx: RouteContext) {
  return async (app: FastifyInstance): Promise<void> => {
    const callsTest = { onRequest: ctx.requireScope('calls:test') };

    app.get('/api/simulations/scenarios', callsTest, async (_request, reply) => {
      const { status, body } = await ask(() => ctx.engine.request('GET', '/simulations/scenarios'));
      return reply.code(status).send(body);
    });

    app.post<{ Body: { file?: string; text?: string } }>(
      '/api/simulations',
      {
        ...callsTest,
        config: { rateLimit: { max: 20, timeWindow: '1 minute' } },
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            properties: { file: { type: 'string', pattern: SCENARIO_FILE_PATTERN }, text: { type: 'string', minLength: 1, maxLength: 20_000 } },
          },
        },
      },
      async (request, reply) => {
        const { file, text } = request.body;
        const { status, body } = await ask(() => ctx.engine.request('POST', '/simulations', { file, text, by: principalOf(request).actor }));
        const run = body as { id?: string; scenario?: { name?: string } };
        if (status === 202) auditRequest(ctx, request, 'simulation.run', { simulation: run.id, file: file ?? '(edited)', scenario: run.scenario?.name });
        else request.log.warn({ reqId: request.id, status }, 'simulation not started');
        return reply.code(status).send(body);
      },
    );

    app.get<{ Params: { id: string } }>(
      '/api/simulations/:id',
      { ...callsTest, schema: { params: { type: 'object', required: ['id'], properties: { id: RUN_ID } } } },
      async (request, reply) => {
        const { status, body } = await ask(() => ctx.engine.request('GET', `/simulations/${request.params.id}`));
        return reply.code(status).send(body);
      },
    );
  };
}
