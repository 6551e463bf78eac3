// The product's commands (`npm start`, `npm run call`, `npm run simulate`) as real processes, with the
// environment an operator gets from .env.example, so a developer's own .env changes nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { REPO_ROOT } from '@ai-agent/common/testing';

export interface ProductProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the output (stdout and stderr) matches; rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

/** Every variable .env.example names, as it gives them, under `overrides`. */
export function productEnv(overrides: Record<string, string>): Record<string, string> {
  return {
    ...(parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')) as Record<string, string>),
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_NO_WARNINGS: '1',
    ...overrides,
  };
}

/**
 * Runs `command` in a process group of its own (so a failed test can end all it started). `npm` runs from `cwd`
 * with `--prefix` pointing at the repository, as an operator typing it elsewhere would.
 */
export function runProduct(command: string, args: string[], env: Record<string, string>, cwd = REPO_ROOT): ProductProcess {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((out += d), waiters.forEach((w) => w())));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((err += d), waiters.forEach((w) => w())));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => (resolve(code), waiters.forEach((w) => w()))));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(out + err);
          if (match) done(() => resolve(match));
          else if (child.exitCode !== null || child.signalCode !== null) done(() => reject(new Error(`exited before ${pattern}:\n${out}${err}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${out}${err}`))), timeoutMs);
        const done = (then: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          then();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Processes whose environment holds `entry` (e.g. `DATA_DIR=<a test's dir>`): everything one run started. */
export function processesWith(entry: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(entry);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

/** The value of `name` in a process's environment. */
export function environOf(pid: number, name: string): string | undefined {
  const line = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').find((l) => l.startsWith(`${name}=`));
  return line?.slice(name.length + 1);
}

export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Polls `url` until it answers `status` (any error counts as not yet); gives up at once if `serving` exits. */
export async function waitForStatus(url: string, status: number, timeoutMs: number, serving?: ProductProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fetch(url).then((r) => r.status, () => 0);
    if (got === status) return;
    if (serving && (serving.child.exitCode !== null || serving.child.signalCode !== null)) {
      throw new Error(`exited (${serving.child.exitCode ?? serving.child.signalCode}) before ${url} answered ${status}`);
    }
    if (Date.now() > deadline) throw new Error(`${url} answered ${got}, not ${status}, within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
