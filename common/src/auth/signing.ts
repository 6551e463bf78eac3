import { createHash, createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from './compare.ts';

/** Headers of a signed service-to-service request. */
export const SIGNATURE_HEADERS = {
  service: 'x-ai-service',
  timestamp: 'x-ai-timestamp',
  nonce: 'x-ai-nonce',
  signature: 'x-ai-signature',
} as const;

export type SignatureFailure =
  | 'missing_header'
  | 'caller_not_allowed'
  | 'stale_timestamp'
  | 'bad_signature'
  | 'replayed_nonce'
  | 'nonce_store_full';

export interface SignedRequest {
  method: string;
  /** Path and query exactly as sent on the request line. */
  path: string;
  body?: string | Uint8Array;
}

function canonical(service: string, timestamp: string, nonce: string, req: SignedRequest): string {
  const bodyHash = createHash('sha256').update(req.body ?? '').digest('hex');
  return `${service}:${timestamp}:${nonce}:${req.method.toUpperCase()}:${req.path}:${bodyHash}`;
}

function hmac(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text).digest('hex');
}

/** Produces the four headers that prove `service` sent this exact request just now. */
export function signRequest(
  service: string,
  secret: string,
  req: SignedRequest,
  nowMs: number = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  const nonce = randomBytes(16).toString('hex');
  return {
    [SIGNATURE_HEADERS.service]: service,
    [SIGNATURE_HEADERS.timestamp]: timestamp,
    [SIGNATURE_HEADERS.nonce]: nonce,
    [SIGNATURE_HEADERS.signature]: hmac(secret, canonical(service, timestamp, nonce, req)),
  };
}

export interface VerifierOptions {
  /** Callers this service accepts, each with the secret it signs with. */
  callers: ReadonlyMap<string, string>;
  skewMs?: number;
  /** How long a nonce is remembered; at least twice the skew (a timestamp up to `skew` ahead stays acceptable for 2 × skew). */
  nonceTtlMs?: number;
  /** Nonces remembered at most; when full, new requests are refused until some expire (never forgotten early). */
  maxNonces?: number;
  now?: () => number;
}

export type VerifyResult = { ok: true; service: string } | { ok: false; reason: SignatureFailure };

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Verifies signed requests: caller allowlisted, timestamp within ±skew, signature over the canonical request,
 * nonce not seen within its lifetime. Nonces are remembered only once the signature is valid, so
 * unauthenticated traffic cannot fill the store; a full store refuses (fails closed) rather than forgetting a
 * nonce whose request could still be replayed.
 */
export class RequestVerifier {
  private readonly seen = new Map<string, number>();
  private readonly skewMs: number;
  private readonly nonceTtlMs: number;
  private readonly maxNonces: number;
  private readonly now: () => number;

  constructor(private readonly opts: VerifierOptions) {
    this.skewMs = opts.skewMs ?? 30_000;
    this.nonceTtlMs = opts.nonceTtlMs ?? 60_000;
    this.maxNonces = opts.maxNonces ?? 100_000;
    this.now = opts.now ?? Date.now;
    if (this.nonceTtlMs < 2 * this.skewMs) throw new Error(`nonceTtlMs (${this.nonceTtlMs}) must be at least twice skewMs (${this.skewMs}): a replay inside the skew would pass`);
  }

  /** True when the request carries any signature header (so it should be judged as a signed request). */
  static isSigned(headers: HeaderBag): boolean {
    return header(headers, SIGNATURE_HEADERS.signature) !== undefined || header(headers, SIGNATURE_HEADERS.service) !== undefined;
  }

  verify(headers: HeaderBag, req: SignedRequest): VerifyResult {
    const service = header(headers, SIGNATURE_HEADERS.service);
    const timestamp = header(headers, SIGNATURE_HEADERS.timestamp);
    const nonce = header(headers, SIGNATURE_HEADERS.nonce);
    const signature = header(headers, SIGNATURE_HEADERS.signature);
    if (!service || !timestamp || !nonce || !signature) return { ok: false, reason: 'missing_header' };
    const secret = this.opts.callers.get(service);
    if (secret === undefined) return { ok: false, reason: 'caller_not_allowed' };
    const now = this.now();
    const sentMs = Number(timestamp) * 1000;
    if (!/^\d{1,12}$/.test(timestamp) || Math.abs(now - sentMs) > this.skewMs) {
      return { ok: false, reason: 'stale_timestamp' };
    }
    if (!safeEqual(signature, hmac(secret, canonical(service, timestamp, nonce, req)))) {
      return { ok: false, reason: 'bad_signature' };
    }
    this.prune(now);
    const key = `${service}:${nonce}`;
    if (this.seen.has(key)) return { ok: false, reason: 'replayed_nonce' };
    if (this.seen.size >= this.maxNonces) return { ok: false, reason: 'nonce_store_full' };
    this.seen.set(key, now + this.nonceTtlMs);
    return { ok: true, service };
  }

  private prune(now: number): void {
    // Insertion order equals expiry order (constant TTL), so expired entries sit at the front.
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
    }
  }
}
