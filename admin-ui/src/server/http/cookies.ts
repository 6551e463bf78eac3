import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionTokens } from '../auth/sessions.ts';

export const ACCESS_COOKIE = 'access';
export const REFRESH_COOKIE = 'refresh';
export const CSRF_COOKIE = 'csrf';
export const CSRF_HEADER = 'x-csrf-token';
const REFRESH_PATH = '/api/auth';

/** Secure when this request arrived over TLS, or always when the operator says TLS terminates in front of us. */
function secure(request: FastifyRequest, forceSecure: boolean): boolean {
  return forceSecure || request.protocol === 'https';
}

export function setSessionCookies(request: FastifyRequest, reply: FastifyReply, tokens: SessionTokens, sessionSeconds: number, forceSecure: boolean): void {
  const base = { sameSite: 'strict' as const, secure: secure(request, forceSecure) };
  reply.setCookie(ACCESS_COOKIE, tokens.access, { ...base, httpOnly: true, path: '/', maxAge: Math.max(1, tokens.accessExpiresAt - Math.floor(Date.now() / 1000)) });
  reply.setCookie(REFRESH_COOKIE, tokens.refresh, { ...base, httpOnly: true, path: REFRESH_PATH, maxAge: sessionSeconds });
  // Readable by the page's script: it copies the value into the x-csrf-token header of each write.
  reply.setCookie(CSRF_COOKIE, tokens.csrf, { ...base, httpOnly: false, path: '/', maxAge: sessionSeconds });
}

export function setCsrfCookie(request: FastifyRequest, reply: FastifyReply, value: string, forceSecure: boolean): void {
  reply.setCookie(CSRF_COOKIE, value, { sameSite: 'strict', secure: secure(request, forceSecure), httpOnly: false, path: '/' });
}

export function clearSessionCookies(reply: FastifyReply): void {
  reply.clearCookie(ACCESS_COOKIE, { path: '/' });
  reply.clearCookie(REFRESH_COOKIE, { path: REFRESH_PATH });
  reply.clearCookie(CSRF_COOKIE, { path: '/' });
}
