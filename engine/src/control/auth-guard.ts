import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthFailureLimiter,
  RequestVerifier,
  bearerToken,
  genericErrorText,
  isLoopbackAddress,
  safeEqual,
  type Logger,
} from '@ai-agent/common';

export type AuthMethod = 'loopback' | 'token' | 'signed';
export type AuthFailureReason =
  | 'missing_credentials'
  | 'bad_token'
  | 'token_not_configured'
  | 'rate_limited'
  | 'missing_header'
  | 'caller_not_allowed'
  | 'stale_timestamp'
  | 'bad_signature'
  | 'replayed_nonce';

export interface AuthGuardOptions {
  log: Logger;
  /** HEALTH_API_TOKEN; without it remote callers can only use signed requests. */
  token: string | undefined;
  verifier: RequestVerifier;
  limiter: AuthFailureLimiter;
  /** Treat loopback callers as trusted (off when a reverse proxy on this host forwards remote traffic). */
  trustLoopback: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: string;
    authMethod?: AuthMethod;
  }
}

/**
 * Guards protected control routes: a loopback caller (decided from the socket, never from headers), a
 * `Bearer HEALTH_API_TOKEN`, or a request signed by an allowed service. Every failure gets the same 401;
 * the specific reason is logged and counted. Repeated failures from one address are refused early.
 */
export class AuthGuard {
  readonly failures = new Map<AuthFailureReason, number>();

  constructor(private readonly opts: AuthGuardOptions) {}

  private decide(request: FastifyRequest): AuthMethod | AuthFailureReason {
    const remote = request.socket.remoteAddress;
    if (this.opts.trustLoopback && isLoopbackAddress(remote)) return 'loopback';
    if (remote && this.opts.limiter.isBlocked(remote)) return 'rate_limited';
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      if (!this.opts.token) return 'token_not_configured';
      const presented = bearerToken(authorization);
      return presented !== undefined && safeEqual(presented, this.opts.token) ? 'token' : 'bad_token';
    }
    if (RequestVerifier.isSigned(request.headers)) {
      const result = this.opts.verifier.verify(request.headers, {
        method: request.method,
        path: request.url,
        body: request.rawBody ?? '',
      });
      return result.ok ? 'signed' : result.reason;
    }
    return 'missing_credentials';
  }

  /** Fastify preHandler. */
  readonly check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const outcome = this.decide(request);
    if (outcome === 'loopback' || outcome === 'token' || outcome === 'signed') {
      request.authMethod = outcome;
      return;
    }
    const remote = request.socket.remoteAddress ?? 'unknown';
    if (outcome !== 'rate_limited') this.opts.limiter.recordFailure(remote);
    this.failures.set(outcome, (this.failures.get(outcome) ?? 0) + 1);
    this.opts.log.warn({ reqId: request.id, reason: outcome, remote, route: request.routeOptions.url }, 'control auth refused');
    const status = outcome === 'rate_limited' ? 429 : 401;
    await reply.code(status).send({ error: genericErrorText(status), requestId: request.id });
  };
}
