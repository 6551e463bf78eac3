import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { routeUpgrades, takeUpgrade, type Logger } from '@ai-agent/common';
import type { TestCallRequest } from '../../telephony/test-call-session.ts';
import type { AuthGuard } from '../auth-guard.ts';

/** What the route needs of the engine's calls: set once telephony is up (null until then). */
export interface TestCallStarter {
  hasContext(name: string): boolean;
  start(ws: WebSocket, request: TestCallRequest): unknown;
}

export interface TestCallRouteDeps {
  calls: () => TestCallStarter | null;
  log: Logger;
}

/** 20 ms frames are 640 bytes; anything near this is not audio from the softphone. */
const MAX_MESSAGE_BYTES = 64 * 1024;
const CONTEXT_NAME = '^[A-Za-z0-9_.-]{1,64}$';
/** The admin UI's actor names: user names and `token:<name>`. */
export const ACTOR = '^[A-Za-z0-9 _.:@-]{1,80}$';

/**
 * `GET /test-calls?context=<name>&by=<actor>` upgraded to a WebSocket: a test call from the admin UI's
 * browser softphone (see telephony/test-call-session.ts for the protocol). Behind the same browser refusal and
 * guard as every protected route (loopback when trusted, HEALTH_API_TOKEN, or a request signed by an allowed
 * service such as admin-ui, which checks the operator's `calls:test` scope before it signs). Refusals are plain
 * HTTP answers before any upgrade: 401, 400 for an unknown context, 426 without an upgrade, 503 before
 * telephony is up.
 */
export function testCallRoute(deps: TestCallRouteDeps) {
  return (app: FastifyInstance, guard: AuthGuard): void => {
    routeUpgrades(app);
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false });
    app.get<{ Querystring: { context: string; by: string } }>(
      '/test-calls',
      {
        preHandler: guard.check,
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            required: ['context', 'by'],
            properties: { context: { type: 'string', pattern: CONTEXT_NAME }, by: { type: 'string', pattern: ACTOR } },
          },
        },
      },
      async (request, reply) => {
        const { context, by } = request.query;
        const calls = deps.calls();
        if (!calls) return reply.code(503).send({ error: 'not ready to take calls', requestId: request.id });
        if (!calls.hasContext(context)) return reply.code(400).send({ error: 'unknown context', requestId: request.id });
        const upgrade = takeUpgrade(request.raw);
        if (!upgrade) return reply.code(426).send({ error: 'WebSocket upgrade required', requestId: request.id });
        reply.hijack();
        deps.log.info({ context, by, authMethod: request.authMethod }, 'test call requested');
        wss.handleUpgrade(request.raw, upgrade.socket, upgrade.head, (ws) => calls.start(ws, { context, by }));
      },
    );
  };
}
