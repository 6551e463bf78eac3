import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, REPO_ROOT } from '@ai-agent/common/testing';
import { readWav } from '../src/index.ts';
import { environOf, killAll, processesWith, productEnv, runProduct, waitForStatus, type ProductProcess } from './product-process.ts';

// `npm start` with no Asterisk configured, as an operator runs it: scripts/start.mjs as a real process with the
// shipped engine config, .env.example's settings, a data directory and ports of its own. Then `npm run call` and
// `npm run simulate` with no stack flags, which must find that stack and call into it.

const dir = mkdtempSync(join(tmpdir(), 'demo-mode-'));
const dataDir = join(dir, 'data');
const runFile = join(dataDir, 'demo-asterisk.json');
let env: Record<string, string>;
let product: ProductProcess;
let engine: string;

const json = async (url: string): Promise<any> => (await fetch(url)).json();
const npm = (args: string[]): ProductProcess => runProduct('npm', ['--prefix', REPO_ROOT, '--silent', ...args], env, dir);

describe('npm start in demo mode (no ARI_PASSWORD)', { timeout: 240_000 }, () => {
  before(async () => {
    const control = await freePort();
    engine = `http://127.0.0.1:${control}`;
    env = productEnv({
      DATA_DIR: dataDir,
      HEALTH_PORT: String(control),
      LOCAL_WS_PORT: String(await freePort()),
      AUDIOSOCKET_PORT: String(await freePort()),
      MEDIA_WS_PORT: String(await freePort()),
      DISABLE_SERVICES: 'admin-ui',
    });
    product = runProduct(process.execPath, ['scripts/start.mjs'], env);
    await waitForStatus(`${engine}/ready`, 200, 120_000, product).catch((err: Error) => {
      throw new Error(`${err.message}\n${product.stdout()}${product.stderr()}`);
    });
  });

  after(() => {
    killAll(processesWith(`DATA_DIR=${dataDir}`));
    killAll(processesWith(`DATA_DIR=${join(dir, 'real-asterisk')}`));
    rmSync(dir, { recursive: true, force: true });
  });

  it('says so, is ready with the built-in Asterisk, and keeps its one-time ARI credentials off disk and out of the log', async () => {
    const [, port] = await product.waitFor(/demo mode: no Asterisk configured; using the built-in test Asterisk on 127\.0\.0\.1:(\d+); set ARI_PASSWORD to use your own/);
    assert.deepEqual(await json(`${engine}/ready`), { ready: true });
    assert.equal((await json(`${engine}/health`)).demo, true);

    // The engine was handed a fresh password for that Asterisk; the Asterisk refuses any other.
    const enginePid = processesWith(`DATA_DIR=${dataDir}`).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('engine/dist/main.js'))!;
    const password = environOf(enginePid, 'ARI_PASSWORD')!;
    assert.ok(password.length >= 24, 'a generated password');
    assert.equal(environOf(enginePid, 'ARI_URL'), `http://127.0.0.1:${port}`);
    const info = (pw: string) => fetch(`http://127.0.0.1:${port}/ari/asterisk/info`, { headers: { authorization: `Basic ${Buffer.from(`ai-agent:${pw}`).toString('base64')}` } });
    assert.equal((await info(password)).status, 200);
    assert.equal((await info('guessed')).status, 401);

    // The run file `npm run call` finds the stack by: this user's only, and without the ARI password.
    assert.equal(statSync(runFile).mode & 0o777, 0o600);
    const run = JSON.parse(readFileSync(runFile, 'utf8'));
    assert.equal(run.engine, engine);
    for (const file of readdirSync(dataDir)) assert.ok(!readFileSync(join(dataDir, file)).includes(password), `${file} holds the ARI password`);
    assert.ok(!(product.stdout() + product.stderr()).includes(password), 'the ARI password is in the log');
    assert.ok(!(product.stdout() + product.stderr()).includes(run.token), 'the call API token is in the log');
  });

  it('npm run call (no flags) and npm run simulate place calls into it: live in /calls, then recorded', async () => {
    const call = npm(['run', 'call']);
    // (All the shipped scenarios run in simulator.test.ts, on a stack of the simulator's own.)
    const simulate = npm(['run', 'simulate', '--', '--json', join(REPO_ROOT, 'config/scenarios/default-talk-to-a-person.yaml')]);
    let seenLive = 0;
    while (call.child.exitCode === null) {
      const { active } = await json(`${engine}/calls`);
      seenLive = Math.max(seenLive, active.length);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(await call.exited, 0, call.stdout() + call.stderr());
    assert.ok(seenLive >= 1, 'the call was listed as active while it went on');
    assert.match(call.stdout(), /Calling the running demo stack/);
    assert.match(call.stdout(), /agent +speaks/);
    assert.match(call.stdout(), /turn 1 response latency \d+ ms/);
    const wav = readdirSync(dir).find((f) => /^call-.*\.wav$/.test(f));
    assert.ok(wav, 'the recording is written where the command ran');
    assert.ok(readWav(join(dir, wav)).samples.some((s) => Math.abs(s) > 1000), 'the caller heard the agent');

    assert.equal(await simulate.exited, 0, simulate.stdout() + simulate.stderr());
    assert.match(simulate.stderr(), /using the running demo stack/);
    const report = JSON.parse(simulate.stdout());
    assert.deepEqual({ passed: report.passed, failed: report.failed }, { passed: 1, failed: 0 }, simulate.stdout());
    assert.ok(report.scenarios[0].checks.some((c: { what: string }) => c.what === 'tool transfer called'));

    const { active, recent } = await json(`${engine}/calls`);
    assert.equal(active.length, 0);
    assert.equal(recent.length, 2, 'both calls have their record');
    assert.ok(recent.every((c: { outcome?: string }) => c.outcome), JSON.stringify(recent));
  });

  it('stopping npm start stops its Asterisk and removes the run file', async () => {
    const peerPid = JSON.parse(readFileSync(runFile, 'utf8')).pid as number;
    process.kill(product.child.pid!, 'SIGTERM');
    assert.equal(await product.exited, 0, product.stderr());
    assert.equal(existsSync(runFile), false);
    assert.deepEqual(processesWith(`DATA_DIR=${dataDir}`), []);
    assert.throws(() => process.kill(peerPid, 0), { code: 'ESRCH' });
  });

  it('with ARI_PASSWORD set, no test Asterisk is started: the engine waits for the configured one', async () => {
    const real = join(dir, 'real-asterisk');
    const control = await freePort();
    const started = runProduct(
      process.execPath,
      ['scripts/start.mjs'],
      { ...env, DATA_DIR: real, HEALTH_PORT: String(control), ARI_PASSWORD: 'an-operators-password', ARI_URL: `http://127.0.0.1:${await freePort()}`, DISABLE_SERVICES: 'local-ai-server,admin-ui' },
    );
    try {
      await started.waitFor(/"msg":"engine control server listening"/);
      const processes = processesWith(`DATA_DIR=${real}`);
      assert.equal(processes.length, 2, 'start.mjs and the engine, nothing else');
      assert.ok(!/demo mode/.test(started.stdout() + started.stderr()));
      assert.equal(existsSync(join(real, 'demo-asterisk.json')), false);
      assert.equal((await json(`http://127.0.0.1:${control}/health`)).demo, undefined);
      const ready = await fetch(`http://127.0.0.1:${control}/ready`);
      assert.equal(ready.status, 503);
      assert.ok(((await ready.json()) as { waiting: string[] }).waiting.includes('ari'));
    } finally {
      process.kill(started.child.pid!, 'SIGTERM');
      await started.exited;
    }
  });
});
