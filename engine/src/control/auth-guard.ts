import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthFailureLimiter,
  RequestVerifier,
  bearerToken,
  genericErrorText,
  PublicHttpError,
  isLoopbackAddress,
  safeEqual,
  trustsLoopback,
  type BrowserRefusal,
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
  | 'replayed_nonce'
  | 'nonce_store_full'
  | BrowserRefusal
  // Refused before any route (and so before authentication): counted with the others so a flood of malformed,
  // oversized or slow requests shows in the same metric as a flood of wrong tokens.
  | 'malformed_request'
  | 'header_overflow'
  | 'request_timeout'
  | 'body_too_large';

export interface AuthGuardOptions {
  log: Logger;
  /** HEALTH_API_TOKEN; without it remote callers can only use signed requests. */
  token: string | undefined;
  verifier: RequestVerifier;
  limiter: AuthFailureLimiter;
  /**
   * Treat loopback callers as trusted. Also needs HEALTH_TRUST_LOOPBACK (default true) in `env`: an operator
   * turns it off when a reverse proxy on this host forwards remote traffic.
   */
  trustLoopback: boolean;
  env?: NodeJS.ProcessEnv;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact bytes of the body, whatever its content type: what a signature covers. */
    rawBody?: Buffer;
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
  private readonly trustLoopback: boolean;

  constructor(private readonly opts: AuthGuardOptions) {
    this.trustLoopback = opts.trustLoopback && trustsLoopback('health', opts.env ?? process.env);
  }

  /** Counts a refusal decided before this guard ran (a browser-borne request), with the others. */
  count(reason: AuthFailureReason): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  /** A config reload changed control.auth_failures_per_minute. */
  setFailureLimit(perMinute: number): void {
    this.opts.limiter.setMax(perMinute);
  }

  private credentials(request: FastifyRequest): AuthMethod | AuthFailureReason {
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

  /** A right credential is accepted even from a blocked source: others' failures never lock a client out. */
  private decide(request: FastifyRequest): AuthMethod | AuthFailureReason {
    const remote = request.socket.remoteAddress;
    if (this.trustLoopback && isLoopbackAddress(remote)) return 'loopback';
    const outcome = this.credentials(request);
    if (outcome === 'token' || outcome === 'signed') return outcome;
    return remote && this.opts.limiter.isBlocked(remote) ? 'rate_limited' : outcome;
  }

  /** Fastify preHandler. The body is decoded only after the caller is known (input validation after auth). */
  readonly check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const outcome = this.decide(request);
    if (outcome === 'loopback' || outcome === 'token' || outcome === 'signed') {
      request.authMethod = outcome;
      request.body = decodeBody(request);
      return;
    }
    const remote = request.socket.remoteAddress ?? 'unknown';
    this.count(outcome);
    if (outcome === 'rate_limited') {
      // A blocked source's requests are counted, not logged one by one: a flood cannot flood the log.
      this.opts.log.debug({ reqId: request.id, remote }, 'control auth refused: source blocked');
    } else {
      this.opts.limiter.recordFailure(remote);
      this.opts.log.warn({ reqId: request.id, reason: outcome, remote, route: request.routeOptions.url }, 'control auth refused');
    }
    const status = outcome === 'rate_limited' ? 429 : 401;
    await reply.code(status).send({ error: genericErrorText(status), requestId: request.id });
  };
}

/** JSON bodies become objects; an empty body is none; any other content type is refused. */
function decodeBody(request: FastifyRequest): unknown {
  const raw = request.rawBody;
  if (!raw || raw.length === 0) return undefined;
  const type = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw new PublicHttpError(415, 'body must be application/json');
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    // The parser's message quotes the body's first bytes (possibly a secret's prefix): never log it.
    throw new PublicHttpError(400, 'body is not valid JSON');
  }
}
