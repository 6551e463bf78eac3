// Test support: the repository's docker-compose.yml as Compose itself reads it (Debian's docker-compose 1.29:
// `config` validates the file and interpolates ${...}), and Compose run against a private dockerd.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { parse } from 'yaml';

export const COMPOSE_FILE = 'docker-compose.yml';

/** The variables the compose file requires; everything else has a default. */
export const REQUIRED_ENV = { LOCAL_WS_AUTH_TOKEN: 'test-local-ws-token-0123456789', DOCKER_GID: '4242' };

/** The parts of a rendered service the tests read (anything else through the index signature). */
export interface ComposeService {
  user?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  network_mode?: string;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { disable?: boolean };
  environment?: Record<string, string>;
  [key: string]: unknown;
}

export interface ComposeModel {
  services: Record<string, ComposeService>;
  volumes?: Record<string, { driver_opts?: Record<string, string> } | null>;
}

export function composeUnavailableReason(): string | null {
  return spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0 ? null : 'docker-compose is not installed (Debian package docker-compose)';
}

/** The environment Compose sees: PATH and `env` only, and no .env file (an empty --env-file). */
function isolated(env: Record<string, string>): { args: string[]; env: Record<string, string>; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'compose-env-'));
  const envFile = join(dir, 'empty.env');
  writeFileSync(envFile, '');
  return {
    args: ['--env-file', envFile],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `docker-compose config` of the repository's file (or `projectDir`'s) with exactly `env`. */
export function renderCompose(env: Record<string, string>, projectDir = REPO_ROOT): { code: number | null; stderr: string; model?: ComposeModel } {
  const iso = isolated(env);
  try {
    const run = spawnSync('docker-compose', ['-f', join(projectDir, COMPOSE_FILE), ...iso.args, 'config'], { env: iso.env, encoding: 'utf8' });
    return { code: run.status, stderr: run.stderr, model: run.status === 0 ? (parse(run.stdout) as ComposeModel) : undefined };
  } finally {
    iso.cleanup();
  }
}

/** Runs `docker-compose <args>` on `projectDir`'s file plus `extraFiles` (the dockerd: DOCKER_HOST in `env`). */
export async function runCompose(projectDir: string, extraFiles: string[], env: Record<string, string>, args: string[]): Promise<string> {
  const iso = isolated(env);
  const files = [join(projectDir, COMPOSE_FILE), ...extraFiles].flatMap((f) => ['-f', f]);
  const child = spawn('docker-compose', [...files, ...iso.args, ...args], { env: iso.env, cwd: projectDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { output += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { output += d; });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  iso.cleanup();
  if (code !== 0) throw new Error(`docker-compose ${args.join(' ')} failed (${code}): ${output.slice(-3000)}`);
  return output;
}
