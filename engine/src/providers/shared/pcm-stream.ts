import { SampleAssembler } from './pcm.ts';
import type { RequestWatch } from './request-watch.ts';

/**
 * The samples of a streamed PCM16 little-endian HTTP body, chunk by chunk as the network delivers them; each
 * chunk rearms the request's idle timer. Returning early (barge-in) cancels the body.
 */
export async function* readPcmStream(body: ReadableStream<Uint8Array>, watch: RequestWatch): AsyncIterable<Int16Array> {
  const samples = new SampleAssembler();
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      watch.tick();
      const pcm = samples.push(next.value);
      if (pcm.length > 0) yield pcm;
    }
  } finally {
    // Not read to the end: cancel, so the connection is released and the server sees the client go.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
