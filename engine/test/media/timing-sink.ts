import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What the sink saw: per datagram its arrival time (ms, monotonic) and RTP sequence/timestamp. */
export interface SinkRecord {
  times: number[];
  sequences: number[];
  timestamps: number[];
  /** The sink's own worst event-loop stall (ms) while receiving: its timestamps were late by up to this. */
  selfDelayMaxMs: number;
}

/** Starts `udp-timing-sink.mjs` in a child process; resolves with its port and, later, what it recorded. */
export async function startTimingSink(count: number): Promise<{ port: number; record: Promise<SinkRecord>; kill: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./udp-timing-sink.mjs', import.meta.url)), String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      waiters.shift()?.();
    }
  });
  const nextLine = async (): Promise<string> => {
    if (lines.length === 0) await new Promise<void>((r) => waiters.push(r));
    return lines.shift()!;
  };
  const port = Number(await nextLine());
  return {
    port,
    record: nextLine().then((l) => JSON.parse(l) as SinkRecord),
    kill: () => child.kill(),
  };
}
