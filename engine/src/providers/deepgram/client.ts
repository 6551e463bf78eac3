import { DeepgramClient, DeepgramError } from '@deepgram/sdk';
import type { ProvidersConfig } from '@ai-agent/common';
import { ProviderError, connectionError, statusError } from '../errors.ts';
import { DEEPGRAM_KEY_VAR } from '../key-vars.ts';

export type DeepgramConfig = Extract<ProvidersConfig[string], { type: 'deepgram' }>;

export { DEEPGRAM_KEY_VAR };

/** The SDK client of one `deepgram` provider: REST at `base_url`, live sockets on the same host (wss/ws). */
export function deepgramClient(config: DeepgramConfig, apiKey: string): DeepgramClient {
  const base = config.base_url.replace(/\/+$/, '');
  const socket = base.replace(/^http/, 'ws');
  return new DeepgramClient({ apiKey, environment: { base, production: socket, agent: socket, agentRest: base }, maxRetries: 0 });
}

/** A refused upgrade as the socket reports it ("Unexpected server response: 429"), or a REST failure. */
export function deepgramFailure(provider: string, err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof DeepgramError && err.statusCode !== undefined) {
    const body = err.body as { err_msg?: string } | undefined;
    return statusError(provider, DEEPGRAM_KEY_VAR, err.statusCode, body?.err_msg);
  }
  const message = err instanceof Error ? err.message : typeof (err as { message?: unknown })?.message === 'string' ? (err as { message: string }).message : String(err);
  const status = /\b([45]\d\d)\b/.exec(message)?.[1];
  if (status) return statusError(provider, DEEPGRAM_KEY_VAR, Number(status));
  return connectionError(provider, `connection failed (${message})`);
}
