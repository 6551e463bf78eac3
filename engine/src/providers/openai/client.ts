import OpenAI, { APIConnectionError, APIError } from 'openai';
import type { ProvidersConfig } from '@ai-agent/common';
import { ProviderError, connectionError, retryAfterOf, statusError } from '../errors.ts';
import type { RequestTimeouts, RequestWatch } from '../shared/request-watch.ts';
import { OPENAI_KEY_VAR } from '../key-vars.ts';

/** The SDK insists on a key; a keyless client gets this one and sends no Authorization header at all. */
const NO_KEY = 'no-key';

export type OpenAiConfig = Extract<ProvidersConfig[string], { type: 'openai' }>;

export { OPENAI_KEY_VAR };

/**
 * The SDK client one `openai` provider's stages share (one HTTP keep-alive pool). Retries are ours to decide
 * (none mid-utterance), the SDK's own logging is off (it would run outside the product's redaction), and
 * timeouts are enforced per request by RequestWatch, which also covers a body that stalls after its headers.
 * `apiKey` undefined: a keyless server on loopback, sent no Authorization header.
 */
export function openAiClient(config: OpenAiConfig, apiKey: string | undefined): OpenAI {
  return new OpenAI({
    apiKey: apiKey ?? NO_KEY,
    // A null header is dropped from every request (a keyless local server: see keyOptional).
    ...(apiKey === undefined ? { defaultHeaders: { Authorization: null } } : {}),
    baseURL: config.base_url,
    maxRetries: 0,
    timeout: config.connect_timeout_ms + config.idle_timeout_ms,
    logLevel: 'off',
  });
}

export function timeoutsOf(config: OpenAiConfig): RequestTimeouts {
  return { connectMs: config.connect_timeout_ms, idleMs: config.idle_timeout_ms };
}

/** Any failure of an SDK call as a ProviderError (or undefined when the caller cancelled: not a failure). */
export function openAiFailure(provider: string, err: unknown, watch: RequestWatch): ProviderError | undefined {
  const timeout = watch.timeoutError();
  if (timeout) return timeout;
  if (watch.cancelled) return undefined;
  if (err instanceof ProviderError) return err;
  if (err instanceof APIError && err.status !== undefined) {
    const message = (err.error as { message?: string } | undefined)?.message;
    return statusError(provider, OPENAI_KEY_VAR, err.status, message, retryAfterOf(err.headers));
  }
  if (err instanceof APIConnectionError) return connectionError(provider, 'could not reach the server');
  // A body cut mid-stream surfaces from fetch as a TypeError ("terminated") or a stream read error.
  return connectionError(provider, `the answer broke off (${err instanceof Error ? err.message : String(err)})`);
}
