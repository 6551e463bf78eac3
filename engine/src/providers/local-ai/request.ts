import type { LocalAiClient } from '@ai-agent/local-ai-server/client';
import type { LocalAiPool } from './connection-pool.ts';
import { RequestWatch } from '../shared/request-watch.ts';
import { localFailure } from './failure.ts';

/**
 * One streamed request (chat, synthesis) on a pooled connection, bounded by the idle timeout (the first item
 * included: a local model may think a while, but not for ever) and failing with a ProviderError. The caller's
 * abort ends it quietly.
 */
export async function* localRequest<T>(
  provider: string,
  pool: LocalAiPool,
  signal: AbortSignal,
  idleTimeoutMs: number,
  start: (client: LocalAiClient, signal: AbortSignal) => AsyncIterable<T>,
): AsyncIterable<T> {
  const watch = new RequestWatch(provider, signal, { connectMs: idleTimeoutMs, idleMs: idleTimeoutMs });
  let release = (): void => undefined;
  try {
    const opened = await pool.stream(watch.signal, (client) => start(client, watch.signal));
    release = opened.release;
    watch.started();
    for await (const item of opened.items) {
      watch.tick();
      yield item;
    }
  } catch (err) {
    const failure = localFailure(provider, err, watch);
    if (failure) throw failure;
  } finally {
    watch.done();
    release();
  }
}
