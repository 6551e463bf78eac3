import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, safeEqual } from '@ai-agent/common';
import type { ApiTokens } from '../auth/api-tokens.ts';
import { SCOPES, grants, scopesOfRole, type Scope } from '../auth/scopes.ts';
import type { Sessions } from '../auth/sessions.ts';
import type { UserStore } from '../auth/user-store.ts';
import type { AuthMode } from '../settings.ts';
import { ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER, setCsrfCookie } from './cookies.ts';

/** Who is making a request, and what they may do. */
export interface Principal {
  kind: 'session' | 'token' | 'none';
  /** The user's name, or the API token's name. */
  name: string;
  /** How the audit log names them: the user's name, or `token:<name>`. */
  actor: string;
  role?: 'admin' | 'viewer';
  scopes: Scope[];
  mustChangePassword: boolean;
  familyId?: string;
  /** When the access token stops working (seconds since the epoch); SSE streams end then. */
  expiresAt?: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export interface AuthenticatorDeps {
  mode: AuthMode;
  sessions: Sessions;
  users: UserStore;
  tokens: ApiTokens;
  cookieSecure: boolean;
}

/** Routes a user who must change their password may still reach. */
const BEFORE_PASSWORD_CHANGE = new Set(['/api/me', '/api/auth/logout', '/api/auth/password']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The onRequest hook of every protected route: resolves the principal (a Bearer API token, else the access
 * cookie), then enforces CSRF on cookie-authenticated writes (double submit: x-csrf-token equals the csrf
 * cookie and the access token's own claim) and the forced password change. Each refusal is one generic body.
 */
export function authenticator(deps: AuthenticatorDeps) {
  const LOCAL: Principal = { kind: 'none', name: 'local', actor: 'local', role: 'admin', scopes: [...SCOPES], mustChangePassword: false };

  async function resolve(request: FastifyRequest): Promise<{ principal: Principal; csrf?: string } | undefined> {
    if (deps.mode === 'none') return { principal: LOCAL };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = deps.tokens.use(bearerToken(authorization) ?? '');
      if (!token) return undefined;
      return { principal: { kind: 'token', name: token.name, actor: `token:${token.name}`, scopes: token.scopes, mustChangePassword: false } };
    }
    const cookie = request.cookies[ACCESS_COOKIE];
    if (!cookie) return undefined;
    const claims = await deps.sessions.verifyAccess(cookie);
    const user = claims && deps.users.get(claims.user);
    if (!claims || !user) return undefined;
    const principal: Principal = {
      kind: 'session',
      name: user.name,
      actor: user.name,
      role: user.role,
      scopes: scopesOfRole(user.role),
      mustChangePassword: user.mustChangePassword,
      familyId: claims.familyId,
      expiresAt: claims.expiresAt,
    };
    return { principal, csrf: claims.csrf };
  }

  function csrfHolds(request: FastifyRequest, expected: string | undefined): boolean {
    const header = request.headers[CSRF_HEADER];
    const cookie = request.cookies[CSRF_COOKIE];
    if (typeof header !== 'string' || !header || !cookie) return false;
    return safeEqual(header, cookie) && (expected === undefined || safeEqual(header, expected));
  }

  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const resolved = await resolve(request);
    if (!resolved) {
      // Which credential failed (never its value): an invalid session covers forged, expired and revoked tokens alike.
      const reason = request.headers.authorization !== undefined ? 'bad_token' : request.cookies[ACCESS_COOKIE] ? 'bad_session' : 'missing_credentials';
      request.log.info({ reqId: request.id, reason, route: request.routeOptions.url, remote: request.socket.remoteAddress }, 'unauthenticated request refused');
      return void (await reply.code(401).send({ error: 'unauthorized' }));
    }
    const { principal } = resolved;
    // Without auth there is no session cookie: the page still gets a csrf cookie to echo, so a cross-site form
    // (which cannot set headers) is refused just the same.
    if (principal.kind === 'none' && !request.cookies[CSRF_COOKIE]) setCsrfCookie(request, reply, randomBytes(24).toString('base64url'), deps.cookieSecure);
    if (principal.kind !== 'token' && !SAFE_METHODS.has(request.method) && !csrfHolds(request, resolved.csrf)) {
      request.log.warn({ reqId: request.id, route: request.routeOptions.url, user: principal.name }, 'csrf check failed');
      return void (await reply.code(403).send({ error: 'forbidden' }));
    }
    if (principal.mustChangePassword && !BEFORE_PASSWORD_CHANGE.has(request.routeOptions.url ?? '')) {
      return void (await reply.code(403).send({ error: 'password change required' }));
    }
    request.principal = principal;
  };
}

export type RouteHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** A route hook refusing (403) a principal without `scope`. Use it as onRequest, so it runs before body validation. */
export function requireScope(scope: Scope): RouteHook {
  return async function scopeCheck(request, reply) {
    const principal = request.principal;
    if (principal && grants(principal.scopes, scope)) return;
    request.log.info({ reqId: request.id, route: request.routeOptions.url, actor: principal?.actor, scope }, 'scope missing');
    await reply.code(403).send({ error: 'forbidden' });
  };
}

/** The principal of a request that passed the authenticator (routes run only then). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('route reached without authentication');
  return request.principal;
}
