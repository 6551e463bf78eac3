import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * As `npm start` does: the repository's .env under the environment (a variable already set wins), so a command
 * finds what the running product uses (DATA_DIR for demo mode's run file, HEALTH_API_TOKEN, LOCAL_WS_AUTH_TOKEN).
 */
export function loadRepoEnv(): void {
  const file = resolve(REPO_ROOT, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

/** A path the operator typed: relative to where the command was run (npm runs scripts from the repository root). */
export function fromInvocationDir(path: string): string {
  return resolve(process.env.INIT_CWD ?? process.cwd(), path);
}
