import { LocalAiError } from '@ai-agent/local-ai-server/client';
import { ProviderError, statusError } from '../errors.ts';
import type { RequestWatch } from '../shared/request-watch.ts';

/** The env var holding the local AI server's token, named by an auth failure. */
const TOKEN_VAR = 'LOCAL_WS_AUTH_TOKEN';

/** Default of `idle_timeout_ms`: a local model on CPU may think a while before its first word. */
export const LOCAL_IDLE_TIMEOUT_MS = 60_000;

/**
 * A local AI failure as the ProviderError every adapter fails with (undefined: the caller cancelled). The
 * protocol's codes map onto the same failures as a cloud vendor's statuses: `busy` is a rate limit,
 * `engine_error` a server error, a refused upgrade carries its HTTP status.
 */
export function localFailure(provider: string, err: unknown, watch?: RequestWatch): ProviderError | undefined {
  const timeout = watch?.timeoutError();
  if (timeout) return timeout;
  if (watch?.cancelled) return undefined;
  if (err instanceof ProviderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (!(err instanceof LocalAiError)) {
    return new ProviderError(provider, /did not answer within/.test(message) ? 'timeout' : 'connection', message);
  }
  switch (err.code) {
    case 'refused': {
      const status = Number(/HTTP (\d{3})/.exec(message)?.[1] ?? 0);
      return status ? statusError(provider, TOKEN_VAR, status) : new ProviderError(provider, 'refused', message);
    }
    case 'closed':
      return new ProviderError(provider, 'connection', `the server closed the connection (${message})`);
    case 'busy':
    case 'too_many_streams':
      return new ProviderError(provider, 'rate_limited', `the server is busy (${err.code})`);
    case 'engine_error':
    case 'engine_unavailable':
      return new ProviderError(provider, 'server', `${err.code}: ${message}`);
    case 'protocol':
      return new ProviderError(provider, 'protocol', message);
    default:
      return new ProviderError(provider, 'refused', `${err.code}: ${message}`);
  }
}
