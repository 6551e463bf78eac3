import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fromRepoRoot } from '../config/runtime-config.ts';
import { fail, pass, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';

/** Creates and removes a file in `dir`: the only reliable test of writability (root, read-only mounts, ACLs). */
function probeWrite(dir: string): NodeJS.ErrnoException | null {
  const probe = join(dir, `.doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    closeSync(openSync(probe, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
    unlinkSync(probe);
    return null;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

/** The nearest directory on the way up from `dir` that exists (the store creates the rest). */
function nearestExisting(dir: string): { path: string; isDirectory: boolean } {
  for (let current = dir; ; current = dirname(current)) {
    try {
      return { path: current, isDirectory: statSync(current).isDirectory() };
    } catch {
      if (dirname(current) === current) return { path: current, isDirectory: false };
    }
  }
}

/** The call store's directory: writable now, or creatable (the store makes it at start). */
export function dataCheck(ctx: DoctorContext): CheckResult {
  const file = fromRepoRoot(ctx.config.store.path);
  const dir = dirname(file);
  const id = 'data.store';
  const title = 'call store directory';
  const fix = `make ${dir} writable for the user the engine runs as, or set store.path in the engine config`;
  const existing = nearestExisting(dir);
  if (!existing.isDirectory) return fail(id, title, `${dir} cannot be created: ${existing.path} is not a directory`, fix);
  const error = probeWrite(existing.path);
  if (error) return fail(id, title, `${existing.path} is not writable (${error.code ?? error.message})`, fix);
  if (existing.path !== dir) return pass(id, title, `${dir} does not exist yet; the engine creates it (${existing.path} is writable)`);
  try {
    if (statSync(file, { throwIfNoEntry: false })) closeSync(openSync(file, 'r+'));
  } catch (err) {
    return fail(id, title, `${file} exists but cannot be opened for writing (${(err as NodeJS.ErrnoException).code})`, fix);
  }
  return pass(id, title, `${dir} is writable`);
}
