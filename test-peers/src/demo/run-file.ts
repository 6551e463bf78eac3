// Demo mode's run file: how `npm run call` and `npm run simulate` find the stack `npm start` is running. The
// demo Asterisk writes it (mode 0600: it holds the token of its call API) and removes it when it stops.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FILE_NAME = 'demo-asterisk.json';

const runFileSchema = z.strictObject({
  /** The demo Asterisk's process: a file whose process is gone is stale. */
  pid: z.number().int().positive(),
  /** The demo Asterisk's call API (places scripted calls). */
  calls: z.url(),
  token: z.string().min(32),
  /** The Stasis app the engine registered with. */
  app: z.string().min(1),
  /** The engine's control API and the local AI server, as `npm start` configured them. */
  engine: z.url(),
  localAi: z.url(),
});

export type DemoRunFile = z.infer<typeof runFileSchema>;

/** `<DATA_DIR>/demo-asterisk.json`; DATA_DIR (default `data`) is relative to the repository root, as for the admin UI. */
export function demoRunFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(resolve(REPO_ROOT, env.DATA_DIR?.trim() || 'data'), FILE_NAME);
}

/** Written whole or not at all, readable by this user only. */
export function writeDemoRunFile(path: string, run: DemoRunFile): void {
  mkdirSync(resolve(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(run, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** Removes the file if it is still this process's (a newer demo stack may have replaced it). */
export function removeDemoRunFile(path: string, pid = process.pid): void {
  try {
    if (runFileSchema.parse(JSON.parse(readFileSync(path, 'utf8'))).pid !== pid) return;
  } catch {
    return; // gone, or not one we wrote
  }
  rmSync(path, { force: true });
}

/** The running demo stack, or null when there is none (no file, or its process has gone). */
export function findDemoStack(env: NodeJS.ProcessEnv = process.env): DemoRunFile | null {
  const path = demoRunFilePath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const parsed = runFileSchema.safeParse(safeJson(text));
  if (!parsed.success) throw new Error(`${path}: not a demo run file (${parsed.error.issues[0]!.path.join('.') || 'root'}: ${parsed.error.issues[0]!.message})`);
  return isRunning(parsed.data.pid) ? parsed.data : null;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
