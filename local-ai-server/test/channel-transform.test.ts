// The shipped channel transform (models/mllr_8k_ulaw.txt): the build takes it only when it was made from the same
// settings, Debian packages and code; a changed input makes the build start its own. The script runs as the
// install runs it, on a copy of the shipped config whose transform goes to a temporary file.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'local-ai-server/scripts/build-mllr.ts');
const SHIPPED = join(ROOT, 'local-ai-server/models/mllr_8k_ulaw.txt');
const CONFIG = readFileSync(join(ROOT, 'config/local-ai.yaml'), 'utf8');
/** The shipped matrix applies only where Debian's speech packages are the versions it was made from. */
const SHIPPED_PACKAGES = (JSON.parse(readFileSync(`${SHIPPED}.inputs`, 'utf8')) as { packages: string }).packages;
const HOST_PACKAGES = (() => {
  try {
    const names = SHIPPED_PACKAGES.trim().split('\n').map((line) => line.split('=')[0]!);
    return execFileSync('dpkg-query', ['-W', '-f=${Package}=${Version}\n', ...names], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
})();

/**
 * Runs the build until it exits or prints `stopAt`; its output so far. A stopped build is stopped with its helpers
 * (its own process group: flite and sox would otherwise go on writing into its work directory).
 */
function build(config: string, stopAt: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { cwd: ROOT, env: { ...process.env, LOCAL_AI_CONFIG: config }, detached: true });
    let out = '';
    let stopped = false;
    const take = (d: Buffer): void => {
      out += d.toString();
      if (stopped || !stopAt.test(out)) return;
      stopped = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the build and its helpers have exited already
      }
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

describe('the shipped channel transform', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mllr-'));
  // A build stopped on its way leaves its work directory (it removes it only when it ends).
  const workDirs = (): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('ai-agent-mllr-'));
  const before = new Set(workDirs());
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    // A helper killed mid-write may still be closing its file: retried, as rm -rf would be by hand.
    for (const name of workDirs()) if (!before.has(name)) rmSync(join(tmpdir(), name), { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });

  const configWith = (name: string, edit: (yaml: string) => string): { config: string; out: string } => {
    const out = join(dir, `${name}.txt`);
    const yaml = edit(CONFIG).replace(/mllr: build\/mllr_8k_ulaw\.txt/, `mllr: ${out}`);
    assert.notEqual(yaml, edit(CONFIG), 'the config names the transform');
    const config = join(dir, `${name}.yaml`);
    writeFileSync(config, yaml);
    return { config, out };
  };

  const otherPackages = HOST_PACKAGES !== SHIPPED_PACKAGES && `this host's speech packages are not those the matrix was made from:\n${HOST_PACKAGES}`;
  it('is taken, byte for byte, by a build made from the same inputs', { skip: otherPackages }, async () => {
    const { config, out } = configWith('same', (y) => y);
    const log = await build(config, /$^/);
    assert.match(log, /the shipped matrix/, log);
    assert.deepEqual(readFileSync(out), readFileSync(SHIPPED));
    assert.equal(readFileSync(`${out}.inputs`, 'utf8'), readFileSync(`${SHIPPED}.inputs`, 'utf8'));
  });

  it('is not taken when an input differs: the build starts its own', async () => {
    const { config, out } = configWith('other-gain', (y) => y.replace(/^(\s+)gain: 0\.5$/m, '$1gain: 0.6'));
    const log = await build(config, /build-mllr: synthesizing/);
    assert.doesNotMatch(log, /the shipped matrix/, log);
    assert.match(log, /build-mllr: synthesizing/, log);
    assert.equal(existsSync(out), false);
  });
});
