// The browser softphone's server side: which contexts a test call may use, and the WebSocket that carries the
// call, relayed to the engine's /test-calls socket (signed as admin-ui) frame for frame.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WebSocketServer } from 'ws';
import { ConfigError, routeUpgrades, safeEqual, takeUpgrade } from '@ai-agent/common';
import { principalOf } from '../http/authenticate.ts';
import { ACCESS_COOKIE, CSRF_COOKIE } from '../http/cookies.ts';
import { openEngineCall, relayCall, EngineCallRefused } from '../engine/test-call-relay.ts';
import { auditRequest, type RouteContext } from './context.ts';

/** The page's WebSocket subprotocol; the CSRF token rides as a second one (`csrf.<token>`): a page cannot set headers on a WebSocket. */
export const TEST_CALL_PROTOCOL = 'ai-agent.test-call';
const CSRF_PROTOCOL_PREFIX = 'csrf.';
const CONTEXT_NAME = '^[A-Za-z0-9_.-]{1,64}$';
/** What the page sends: 20 ms frames (640 bytes) and short JSON events. */
const MAX_MESSAGE_BYTES = 16 * 1024;

function offeredProtocols(request: FastifyRequest): string[] {
  const header = request.headers['sec-websocket-protocol'];
  return (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((p) => p.trim()).filter(Boolean);
}

/**
 * A cookie session's socket must come from this admin UI's own page: an Origin (checked against the allowed
 * hosts by the host guard) and the double-submit CSRF token, equal to the csrf cookie and to the access token's
 * own claim. An API token needs neither (a script sends no cookies a foreign page could borrow).
 */
async function sessionSocketAllowed(ctx: RouteContext, request: FastifyRequest): Promise<boolean> {
  const principal = principalOf(request);
  if (principal.kind === 'token') return true;
  if (request.headers.origin === undefined) return false;
  if (principal.kind === 'none') return true; // ADMIN_AUTH=none (loopback only): Origin is the check.
  const offered = offeredProtocols(request).find((p) => p.startsWith(CSRF_PROTOCOL_PREFIX))?.slice(CSRF_PROTOCOL_PREFIX.length);
  const cookie = request.cookies[CSRF_COOKIE];
  const access = request.cookies[ACCESS_COOKIE];
  if (!offered || !cookie || !access || !safeEqual(offered, cookie)) return false;
  const claims = await ctx.sessions.verifyAccess(access);
  return claims !== undefined && safeEqual(offered, claims.csrf);
}

/** Context names of the engine's config file, as the admin UI reads it (the engine checks again). */
function contextNames(ctx: RouteContext): string[] {
  try {
    return Object.keys(ctx.configFile.validate(ctx.configFile.read()).contexts).sort();
  } catch (err) {
    if (err instanceof ConfigError || (err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function testCallRoutes(ctx: RouteContext) {
  return async (app: FastifyInstance): Promise<void> => {
    routeUpgrades(app);
    const callsTest = { onRequest: ctx.requireScope('calls:test') };
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(TEST_CALL_PROTOCOL) ? TEST_CALL_PROTOCOL : false),
    });

    app.get('/api/test-call/contexts', callsTest, async () => ({ contexts: contextNames(ctx) }));

    app.get<{ Querystring: { context: string } }>(
      '/api/test-call',
      {
        ...callsTest,
        config: { rateLimit: { max: 30, timeWindow: '1 minute' } },
        schema: {
          querystring: { type: 'object', additionalProperties: false, required: ['context'], properties: { context: { type: 'string', pattern: CONTEXT_NAME } } },
        },
      },
      async (request, reply) => {
        if (!(await sessionSocketAllowed(ctx, request))) {
          request.log.warn({ reqId: request.id, actor: principalOf(request).actor }, 'test call socket refused: origin or csrf check failed');
          return reply.code(403).send({ error: 'forbidden' });
        }
        if (request.headers.upgrade?.toLowerCase() !== 'websocket') return reply.code(426).send({ error: 'WebSocket upgrade required' });
        if (!offeredProtocols(request).includes(TEST_CALL_PROTOCOL)) return reply.code(400).send({ error: `subprotocol ${TEST_CALL_PROTOCOL} required` });
        const { context } = request.query;
        const actor = principalOf(request).actor;
        let engine;
        try {
          engine = await openEngineCall(ctx.settings, { context, by: actor });
        } catch (err) {
          if (err instanceof EngineCallRefused) {
            request.log.warn({ reqId: request.id, status: err.status }, 'engine refused the test call');
            return reply.code(err.status === 400 ? 400 : 502).send({ error: err.status === 400 ? 'unknown context' : 'engine refused the test call' });
          }
          return reply.code(503).send({ error: 'engine unavailable' });
        }
        const upgrade = takeUpgrade(request.raw);
        if (!upgrade) {
          engine.terminate();
          return reply.code(426).send({ error: 'WebSocket upgrade required' });
        }
        auditRequest(ctx, request, 'call.test', { context });
        reply.hijack();
        wss.handleUpgrade(request.raw, upgrade.socket, upgrade.head, (browser) => {
          relayCall(browser, engine, { expiresAt: principalOf(request).expiresAt, log: request.log });
        });
      },
    );
  };
}
