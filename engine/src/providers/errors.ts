import { scrub } from '@ai-agent/common';

/** Why a provider request failed, in the terms an operator acts on. */
export type ProviderFailure =
  /** The key was refused (HTTP 401/403): fix the env var. */
  | 'auth'
  /** HTTP 429: the account's rate or quota. */
  | 'rate_limited'
  /** HTTP 5xx: the vendor's side. */
  | 'server'
  /** Another 4xx: the request (model, voice, parameter) was refused. */
  | 'refused'
  /** No answer, or the answer stopped, within the configured timeout. */
  | 'timeout'
  /** The connection failed or dropped. */
  | 'connection'
  /** The vendor answered something the adapter cannot read. */
  | 'protocol';

/**
 * The one error every cloud adapter fails with. Its message is built from a status and the vendor's text,
 * never from request headers, and passes the log scrubber: a key cannot reach a log or a caller.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly provider: string,
    readonly failure: ProviderFailure,
    detail: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(scrub(`${provider}: ${detail}`));
  }
}

/** A vendor's own error text as one bounded line. */
function vendorText(message: string | undefined): string {
  if (!message) return '';
  const line = message.replace(/\s+/g, ' ').trim();
  return line ? `: ${line.length > 200 ? `${line.slice(0, 200)}…` : line}` : '';
}

/** The error for an HTTP status (or a refused WebSocket upgrade). 401/403 name the env var holding the key. */
export function statusError(provider: string, keyVar: string, status: number, vendorMessage?: string, retryAfterMs?: number): ProviderError {
  if (status === 401 || status === 403) return new ProviderError(provider, 'auth', `the API key was refused (HTTP ${status}): check ${keyVar}`, status);
  if (status === 429) {
    const retry = retryAfterMs !== undefined ? `; retry after ${Math.ceil(retryAfterMs / 1000)} s` : '';
    return new ProviderError(provider, 'rate_limited', `rate limited (HTTP 429)${retry}`, status, retryAfterMs);
  }
  if (status >= 500) return new ProviderError(provider, 'server', `server error (HTTP ${status})${vendorText(vendorMessage)}`, status);
  return new ProviderError(provider, 'refused', `request refused (HTTP ${status})${vendorText(vendorMessage)}`, status);
}

export function connectionError(provider: string, what: string): ProviderError {
  return new ProviderError(provider, 'connection', what);
}

/** `retry-after-ms` or `retry-after` (seconds) of an answer, in ms. */
export function retryAfterOf(headers: { get(name: string): string | null } | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (ms > 0) return ms;
  const s = Number(headers?.get('retry-after'));
  return s > 0 ? s * 1000 : undefined;
}
