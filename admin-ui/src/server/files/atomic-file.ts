import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** `name.2026-12-06T02-30-00-123Z.bak` next to the file: sortable, and never overwritten by a later save. */
function backupPath(path: string): string {
  const stamp = new Date().toISOString().replace(/:/g, '-').replace('.', '-');
  let candidate = `${path}.${stamp}.bak`;
  for (let n = 1; existsSync(candidate); n++) candidate = `${path}.${stamp}-${n}.bak`;
  return candidate;
}

/**
 * Replaces a file's content so that a reader (or a crash) sees either the old file or the new one, never
 * half of each: the new text goes to a temporary file in the same folder, is flushed, then renamed over.
 * The previous content is first copied to a timestamped backup, whose path is returned (undefined when the
 * file did not exist). The file keeps its mode; a new one gets `mode`.
 */
export function replaceWithBackup(path: string, content: string, mode = 0o600): string | undefined {
  const existed = existsSync(path);
  const keepMode = existed ? statSync(path).mode & 0o777 : mode;
  const backup = existed ? backupPath(path) : undefined;
  if (backup) copyFileSync(path, backup);
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', keepMode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  return backup;
}
