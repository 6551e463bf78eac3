import type { FastifyInstance } from 'fastify';
import { hashPassword, randomPassword } from '../auth/passwords.ts';
import { ROLES, SCOPES, type Role, type Scope } from '../auth/scopes.ts';
import { USER_NAME } from '../auth/user-store.ts';
import { principalOf } from '../http/authenticate.ts';
import { auditRequest, type RouteContext } from './context.ts';

const NAME = { type: 'string', pattern: USER_NAME.source } as const;
const TOKEN_BODY = {
  type: 'object',
  required: ['name', 'scopes'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9 _.:@-]{1,64}$' },
    scopes: { type: 'array', minItems: 1, maxItems: SCOPES.length, uniqueItems: true, items: { type: 'string', enum: [...SCOPES] } },
  },
} as const;
const USER_BODY = {
  type: 'object',
  required: ['name', 'role'],
  additionalProperties: false,
  properties: { name: NAME, role: { type: 'string', enum: [...ROLES] } },
} as const;
const PAGE = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 }, before: { type: 'integer', minimum: 1 } },
} as const;

/** API tokens, users and the audit log: `admin` scope only. */
export function adminRoutes(ctx: RouteContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook('onRequest', ctx.requireScope('admin'));

    app.get('/api/tokens', async () => ctx.tokens.list());

    app.post<{ Body: { name: string; scopes: Scope[] } }>('/api/tokens', { schema: { body: TOKEN_BODY } }, async (request, reply) => {
      const created = ctx.tokens.create(request.body.name, request.body.scopes, principalOf(request).actor);
      auditRequest(ctx, request, 'token.create', { id: created.id, name: request.body.name, scopes: request.body.scopes });
      return reply.code(201).send(created);
    });

    app.delete<{ Params: { id: string } }>(
      '/api/tokens/:id',
      { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } } } } },
      async (request, reply) => {
        if (!ctx.tokens.revoke(request.params.id)) return reply.code(404).send({ error: 'not found' });
        auditRequest(ctx, request, 'token.revoke', { id: request.params.id });
        return reply.code(204).send();
      },
    );

    app.get('/api/users', async () => ctx.users.list());

    // A new user gets a one-time password, shown once here, and must change it at first login.
    app.post<{ Body: { name: string; role: Role } }>('/api/users', { schema: { body: USER_BODY } }, async (request, reply) => {
      const password = randomPassword();
      if (!ctx.users.create(request.body.name, request.body.role, await hashPassword(password), true)) {
        return reply.code(409).send({ error: 'conflict' });
      }
      auditRequest(ctx, request, 'user.create', { name: request.body.name, role: request.body.role });
      return reply.code(201).send({ name: request.body.name, role: request.body.role, password });
    });

    app.delete<{ Params: { name: string } }>(
      '/api/users/:name',
      { schema: { params: { type: 'object', required: ['name'], properties: { name: NAME } } } },
      async (request, reply) => {
        const { name } = request.params;
        const user = ctx.users.get(name);
        if (!user) return reply.code(404).send({ error: 'not found' });
        if (name === principalOf(request).name || (user.role === 'admin' && ctx.users.countAdmins() === 1)) {
          return reply.code(409).send({ error: 'cannot delete yourself or the last admin' });
        }
        ctx.users.delete(name);
        auditRequest(ctx, request, 'user.delete', { name });
        return reply.code(204).send();
      },
    );

    app.get<{ Querystring: { limit: number; before?: number } }>('/api/audit', { schema: { querystring: PAGE } }, async (request) =>
      ctx.audit.list(request.query.limit, request.query.before),
    );
  };
}
