import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { safeEqual } from '@ai-agent/common';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.ts';
import { CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE, clearSessionCookies, setSessionCookies } from '../http/cookies.ts';
import { principalOf } from '../http/authenticate.ts';
import type { SessionTokens } from '../auth/sessions.ts';
import { auditRequest, sourceOf, type RouteContext } from './context.ts';

const LOGIN_BODY = {
  type: 'object',
  required: ['username', 'password'],
  additionalProperties: false,
  properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
} as const;

const PASSWORD_BODY = {
  type: 'object',
  required: ['current', 'next'],
  additionalProperties: false,
  properties: { current: { type: 'string', maxLength: 1024 }, next: { type: 'string', maxLength: 1024 } },
} as const;

const INVALID = { error: 'invalid credentials' };

/** Login is rate-limited per address on top of the per-user lockout. */
const LOGIN_RATE = { rateLimit: { max: 30, timeWindow: '1 minute' } };

/** Login and refresh: reachable without a session (they create one). */
export function publicAuthRoutes(ctx: RouteContext) {
  const sessionSeconds = ctx.settings.sessionHours * 3600;
  const setCookies = (request: FastifyRequest, reply: FastifyReply, tokens: SessionTokens): void =>
    setSessionCookies(request, reply, tokens, sessionSeconds, ctx.settings.cookieSecure);

  return async (app: FastifyInstance): Promise<void> => {
    app.post<{ Body: { username: string; password: string } }>(
      '/api/auth/login',
      { schema: { body: LOGIN_BODY }, config: LOGIN_RATE },
      async (request, reply) => {
        const { username, password } = request.body;
        const source = sourceOf(request);
        const locked = ctx.lockout.isLocked(username, source);
        const user = ctx.users.get(username);
        // The hash is checked even when locked or unknown, so timing tells neither apart from a wrong password.
        const valid = await verifyPassword(user?.passwordHash, password);
        if (!valid || locked || !user) {
          const nowLocked = locked || (!valid && ctx.lockout.fail(username, source));
          ctx.audit.record(username, 'login.failed', { reason: locked ? 'locked' : user ? 'bad password' : 'unknown user', locked: nowLocked }, source);
          request.log.info({ reqId: request.id, remote: source, locked: nowLocked }, 'login failed');
          return reply.code(401).send(INVALID);
        }
        ctx.lockout.succeed(username, source);
        setCookies(request, reply, await ctx.sessions.start(user.name));
        ctx.audit.record(user.name, 'login', {}, source);
        return { user: { name: user.name, role: user.role, mustChangePassword: user.mustChangePassword } };
      },
    );

    app.post('/api/auth/refresh', { config: LOGIN_RATE }, async (request, reply) => {
      const header = request.headers[CSRF_HEADER];
      const csrf = request.cookies[CSRF_COOKIE];
      const token = request.cookies[REFRESH_COOKIE];
      if (typeof header !== 'string' || !csrf || !safeEqual(header, csrf)) return reply.code(403).send({ error: 'forbidden' });
      const outcome = token ? await ctx.sessions.refresh(token) : ({ ok: false, reason: 'unknown' } as const);
      if (!outcome.ok) {
        if (outcome.reason === 'reused') ctx.audit.record(outcome.user ?? '(unknown)', 'session.refresh-reused', { revoked: 'family' }, sourceOf(request));
        request.log.warn({ reqId: request.id, reason: outcome.reason }, 'refresh refused');
        clearSessionCookies(reply);
        return reply.code(401).send({ error: 'unauthorized' });
      }
      setCookies(request, reply, outcome.tokens);
      return reply.code(204).send();
    });
  };
}

/** Routes for a signed-in user (inside the authenticated scope). */
export function sessionRoutes(ctx: RouteContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/api/me', async (request) => {
      const p = principalOf(request);
      return { user: { name: p.name, role: p.role ?? null, mustChangePassword: p.mustChangePassword }, scopes: p.scopes };
    });

    app.post<{ Body: { current: string; next: string } }>('/api/auth/password', { schema: { body: PASSWORD_BODY }, config: LOGIN_RATE }, async (request, reply) => {
      const p = principalOf(request);
      const user = p.kind === 'session' ? ctx.users.get(p.name) : undefined;
      if (!user) return reply.code(403).send({ error: 'forbidden' });
      if (!(await verifyPassword(user.passwordHash, request.body.current))) {
        auditRequest(ctx, request, 'password.change-failed');
        return reply.code(401).send(INVALID);
      }
      const problem = passwordProblem(request.body.next);
      if (problem) return reply.code(400).send({ error: 'invalid password', reason: `next: ${problem}` });
      if (request.body.next === request.body.current) return reply.code(400).send({ error: 'invalid password', reason: 'next: must differ from the current password' });
      ctx.users.setPassword(user.name, await hashPassword(request.body.next), false, p.familyId);
      auditRequest(ctx, request, 'password.change');
      return reply.code(204).send();
    });

    app.post('/api/auth/logout', async (request, reply) => {
      const p = principalOf(request);
      if (p.familyId) ctx.sessions.revokeFamily(p.familyId);
      clearSessionCookies(reply);
      return reply.code(204).send();
    });

    app.post('/api/auth/logout-all', async (request, reply) => {
      const p = principalOf(request);
      if (p.kind !== 'session') return reply.code(403).send({ error: 'forbidden' });
      ctx.sessions.revokeUser(p.name);
      auditRequest(ctx, request, 'logout.all');
      clearSessionCookies(reply);
      return reply.code(204).send();
    });
  };
}
