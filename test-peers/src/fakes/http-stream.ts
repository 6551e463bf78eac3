// Writes a streamed HTTP body chunk by chunk with scripted pacing and faults.
import type { ServerResponse } from 'node:http';
import { dropConnection } from './fake-server.ts';
import { pause, stallUntil, type Pace, type StreamFault } from './script.ts';

/**
 * Sends `chunks` on a response whose head was set with `writeHead`. The head goes out with the first
 * chunk (so `firstByteMs` delays the status line too), or just before a stall/drop.
 * Stops quietly if the client goes away (`signal`).
 */
export async function streamChunks(
  res: ServerResponse,
  chunks: Iterable<string | Buffer>,
  signal: AbortSignal,
  pace: Pace = {},
  fault?: StreamFault,
): Promise<void> {
  if (!(await pause(pace.firstByteMs, signal))) return;
  const faultAt = fault?.afterChunks ?? 0;
  let sent = 0;
  for (const chunk of chunks) {
    if (fault && sent === faultAt) return applyFault(res, fault, signal);
    if (sent > 0 && !(await pause(pace.betweenChunksMs, signal))) return;
    res.write(chunk);
    sent += 1;
  }
  if (fault) return applyFault(res, fault, signal);
  res.end();
}

async function applyFault(res: ServerResponse, fault: StreamFault, signal: AbortSignal): Promise<void> {
  res.flushHeaders();
  if (fault.kind === 'drop') {
    // Let the bytes already written reach the client before the connection dies.
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    dropConnection(res);
    return;
  }
  await stallUntil(signal);
}

/** Sends a whole (non-streamed) answer, honouring `firstByteMs` and stall/drop faults. */
export async function answerOnce(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
  signal: AbortSignal,
  pace: Pace = {},
  fault?: StreamFault,
): Promise<void> {
  if (!(await pause(pace.firstByteMs, signal))) return;
  if (fault?.kind === 'drop') return dropConnection(res);
  if (fault?.kind === 'stall') return stallUntil(signal);
  res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}
