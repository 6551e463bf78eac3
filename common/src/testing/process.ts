import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when a stdout/stderr line matches, rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (signal exits give null). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * How Node runs a TypeScript entry point (relative to the repo root, or absolute). `npm test` compiles
 * the services first (scripts/build-services.mjs) and sets SERVICES_COMPILED=1: a workspace's `src/` module then
 * runs as its compiled `dist/` twin on plain Node, as `npm start` runs it, without paying the TypeScript loader at
 * every start. A compiled module that names a sibling by its source (`new URL('./x.ts', import.meta.url)` in
 * `dist/`) starts the sibling compiled too. Anything else (a test fixture, or a test file run by hand) runs from
 * source under tsx.
 */
export function nodeEntry(entry: string): { execArgv: string[]; module: string } {
  const module = /^(.*\/)(src|dist)\/(.+)\.ts$/.exec(entry);
  return module && (module[2] === 'dist' || process.env.SERVICES_COMPILED === '1')
    ? { execArgv: ['--conditions=ai-agent-compiled'], module: `${module[1]}dist/${module[3]}.js` }
    : { execArgv: ['--import', 'tsx'], module: entry };
}

/** nodeEntry() as one argument list for spawn(process.execPath, …). */
export function nodeArgs(entry: string): string[] {
  const { execArgv, module } = nodeEntry(entry);
  return [...execArgv, module];
}

/** Starts a product entry point (a .ts file relative to the repo root) as a real process. */
export function startService(entry: string, env: Record<string, string | undefined>, args: string[] = []): ServiceProcess {
  const child = spawn(process.execPath, [...nodeArgs(entry), ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; waiters.forEach((w) => w()); });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; waiters.forEach((w) => w()); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { waiters.forEach((w) => w()); resolve(code); }));
  let done = false;
  void exited.then(() => { done = true; });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = (out + err).split('\n').find((line) => pattern.test(line));
          if (hit !== undefined) finish(() => resolve(hit));
          else if (done || child.exitCode !== null) finish(() => reject(new Error(`process exited before ${pattern}; stderr: ${err.slice(-2000)}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${pattern}; output: ${(out + err).slice(-2000)}`))), timeoutMs);
        const finish = (f: () => void): void => { clearTimeout(timer); waiters.delete(check); f(); };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Parses pino JSON lines out of a process's output. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } });
}

export interface BoundSocket { protocol: 'tcp' | 'udp'; address: string; port: number }

/** The sockets a process is listening on, as the kernel reports them (`ss`), not as the process claims. */
export async function listeningSockets(pid: number): Promise<BoundSocket[]> {
  const child = spawn('ss', ['-H', '-l', '-n', '-p', '-t', '-u']);
  let text = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { text += d; });
  await once(child, 'exit');
  const sockets: BoundSocket[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const cols = line.trim().split(/\s+/);
    const local = cols[4] ?? '';
    const idx = local.lastIndexOf(':');
    sockets.push({
      protocol: cols[0] === 'udp' ? 'udp' : 'tcp',
      address: local.slice(0, idx).replace(/^\[|\]$/g, '').replace(/%.*$/, ''),
      port: Number(local.slice(idx + 1)),
    });
  }
  return sockets;
}

// Above the product's default ports, below the ephemeral range.
const FREE_PORT_LOW = 20_000;
const FREE_PORT_HIGH = 32_768;

/**
 * A TCP port free on loopback now, for a process started next to listen on. Chosen below the kernel's ephemeral
 * range (32768+ by default), never from it: between this check and the service's listen, any outgoing connection or
 * port-0 socket on the machine (another test's RTP, a fetch) may be handed an ephemeral port, and then the service
 * fails with EADDRINUSE. Picked at random so test files running side by side rarely try the same one.
 */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = FREE_PORT_LOW + Math.floor(Math.random() * (FREE_PORT_HIGH - FREE_PORT_LOW));
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    server.close();
    await once(server, 'close');
    return port;
  }
  throw new Error(`no free port in ${FREE_PORT_LOW}-${FREE_PORT_HIGH} after 200 tries`);
}
