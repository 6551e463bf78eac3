// A product stack of the simulator's own, when no demo stack is running: `npm start` (scripts/start.mjs) in demo
// mode with the operator's engine config, on free loopback ports, with its data (call records, run file) in a
// temporary directory. Only the operational settings are changed; contexts and providers stay as configured.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYaml } from '@ai-agent/common';
import { freePort } from '@ai-agent/common/testing';
import { findDemoStack, type DemoRunFile } from '../demo/run-file.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;
const OUTPUT_KEPT_CHARS = 20_000;

export interface OwnStack {
  run: DemoRunFile;
  stop(): Promise<void>;
}

type Tree = Record<string, unknown>;
const section = (tree: Tree, key: string): Tree => (tree[key] && typeof tree[key] === 'object' ? (tree[key] as Tree) : (tree[key] = {}));

/** The engine config with this stack's ports and store; every local AI provider pointed at this stack's server. */
function derivedConfig(source: string, dir: string, ports: { control: number; localAi: number }): string {
  const tree = parseYaml(readFileSync(source, 'utf8'), source) as Tree;
  section(tree, 'control').port = ports.control;
  const media = section(tree, 'media');
  media.rtp = { ...section(media, 'rtp'), port_min: 0, port_max: 0 };
  media.audiosocket = { ...section(media, 'audiosocket'), port: 0 };
  media.websocket = { ...section(media, 'websocket'), port: 0 };
  // The run's records in a file of its own, never in a database shared with the product (store.backend).
  const store = section(tree, 'store');
  tree.store = { ...store, path: join(dir, 'calls.sqlite'), ...(store.backend ? { backend: 'sqlite' } : {}) };
  for (const provider of Object.values(section(tree, 'providers'))) {
    if (provider && typeof provider === 'object' && (provider as Tree).type === 'local_ai') (provider as Tree).url = `ws://127.0.0.1:${ports.localAi}`;
  }
  const file = join(dir, 'engine.yaml');
  // JSON is YAML: `${VAR}` placeholders stay strings and are filled in by the engine as usual.
  writeFileSync(file, JSON.stringify(tree, null, 2), { mode: 0o600 });
  return file;
}

async function ready(engine: string): Promise<boolean> {
  try {
    return (await fetch(`${engine}/ready`)).status === 200;
  } catch {
    return false;
  }
}

/** Starts the stack and resolves once its engine is ready (ARI registered, providers answering). */
export async function startOwnStack(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<OwnStack> {
  const ports = { control: await freePort(), localAi: await freePort() };
  const config = derivedConfig(resolve(REPO_ROOT, env.AI_AGENT_CONFIG || 'config/ai-agent.yaml'), dir, ports);
  const stackEnv: NodeJS.ProcessEnv = {
    ...env,
    AI_AGENT_CONFIG: config,
    DATA_DIR: join(dir, 'data'),
    HEALTH_PORT: String(ports.control),
    LOCAL_WS_PORT: String(ports.localAi),
    // Demo mode whatever .env says: the calls come from the test Asterisk, not a real one.
    ARI_PASSWORD: '',
    ARI_PASSWORD_FILE: '',
    ASTERISK_ARI_PASSWORD: '',
    // Loopback only, and no admin UI: nobody else uses this stack.
    HEALTH_BIND_HOST: '',
    LOCAL_WS_HOST: '',
    EXTERNAL_MEDIA_RTP_HOST: '',
    AUDIOSOCKET_HOST: '',
    MEDIA_WS_HOST: '',
    DISABLE_SERVICES: 'admin-ui',
    LOG_FILE: '',
  };
  const child: ChildProcess = spawn(process.execPath, ['scripts/start.mjs'], { cwd: REPO_ROOT, env: stackEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d: Buffer): void => {
    output = (output + d.toString('utf8')).slice(-OUTPUT_KEPT_CHARS);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the stack stopped while starting:\n${output}`);
    const run = findDemoStack({ DATA_DIR: stackEnv.DATA_DIR });
    if (run && (await ready(run.engine))) return { run, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the stack was not ready within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
