import type { FastifyInstance } from 'fastify';
import type { Logger } from '@ai-agent/common';
import { ScenarioRefused, SimulationBusy, type SimulationRequest, type Simulator } from '../../telephony/simulation/simulator.ts';
import type { AuthGuard } from '../auth-guard.ts';
import { ACTOR } from './test-call-route.ts';

export interface SimulationRouteDeps {
  /** Set once telephony is up (null until then). */
  simulator: () => Pick<Simulator, 'scenarios' | 'start' | 'get'> | null;
  log: Logger;
}

const ACTOR_NAME = new RegExp(ACTOR);
const RUN_ID = '^[0-9a-f-]{36}$';
/** A scenario is a page of YAML; more is not one. */
const MAX_SCENARIO_CHARS = 20_000;

type RequestProblem = { key: string; reason: string };

/** The POST body, checked here: the guard decodes it only once the caller is known, after Fastify's validation. */
function simulationRequest(body: unknown): SimulationRequest | RequestProblem {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return { key: '(body)', reason: 'a JSON object {file | text, by}' };
  const { file, text, by, ...rest } = body as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return { key: extra, reason: 'unknown key' };
  if (typeof by !== 'string' || !ACTOR_NAME.test(by)) return { key: 'by', reason: 'who runs it: 1-80 letters, digits, space, _ . : @ -' };
  if (file !== undefined && (typeof file !== 'string' || file.length > 100)) return { key: 'file', reason: 'a scenario file name' };
  if (text !== undefined && (typeof text !== 'string' || text.length > MAX_SCENARIO_CHARS)) return { key: 'text', reason: `scenario text of at most ${MAX_SCENARIO_CHARS} characters` };
  return { by, ...(file === undefined ? {} : { file }), ...(text === undefined ? {} : { text }) } as SimulationRequest;
}

/**
 * The call simulator (protected like every operator route: loopback when trusted, HEALTH_API_TOKEN, or a
 * request signed by an allowed service such as admin-ui, which checks the operator's `calls:test` scope first):
 * - `GET /simulations/scenarios`: the scenario files of config/scenarios, validated, with their text;
 * - `POST /simulations` {file | text, by}: starts one (202 with its state), 409 while another runs, 400 naming
 *   the key of a scenario that is not valid, 503 before telephony is up;
 * - `GET /simulations/:id`: its state, step and, once finished, its report.
 */
export function simulationRoutes(deps: SimulationRouteDeps) {
  return (app: FastifyInstance, guard: AuthGuard): void => {
    const notReady = { error: 'not ready to take calls' };

    app.get('/simulations/scenarios', { preHandler: guard.check }, async (request, reply) => {
      const simulator = deps.simulator();
      if (!simulator) return reply.code(503).send({ ...notReady, requestId: request.id });
      return { scenarios: simulator.scenarios() };
    });

    app.post('/simulations', { preHandler: guard.check }, async (request, reply) => {
      const simulator = deps.simulator();
      if (!simulator) return reply.code(503).send({ ...notReady, requestId: request.id });
      const body = simulationRequest(request.body);
      if ('key' in body) return reply.code(400).send({ error: 'invalid request', ...body, requestId: request.id });
      try {
        return reply.code(202).send(simulator.start(body));
      } catch (err) {
        if (err instanceof SimulationBusy) return reply.code(409).send({ error: err.message, requestId: request.id });
        if (err instanceof ScenarioRefused) {
          deps.log.warn({ key: err.key, reason: err.reason, by: body.by, requestId: request.id }, 'simulation refused: invalid scenario');
          return reply.code(400).send({ error: 'invalid scenario', key: err.key, reason: err.reason, requestId: request.id });
        }
        throw err;
      }
    });

    app.get<{ Params: { id: string } }>(
      '/simulations/:id',
      { preHandler: guard.check, schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: RUN_ID } } } } },
      async (request, reply) => {
        const run = deps.simulator()?.get(request.params.id);
        if (!run) return reply.code(404).send({ error: 'no such simulation', requestId: request.id });
        return run;
      },
    );
  };
}
