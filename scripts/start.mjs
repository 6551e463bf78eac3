#!/usr/bin/env node
// Starts the product's services side by side (local AI server, engine, admin UI) with the settings from
// .env (if present) over the environment, stops them on SIGTERM/SIGINT/SIGHUP, and stops all if one dies.
// With no Asterisk configured (no ARI password), demo mode adds a fourth: the built-in Asterisk test peer.
//
// Each service runs in a process group of its own, so a stop signal reaches it from here only, once. Were the
// services in this script's group, a terminal's Ctrl-C (sent to the whole foreground group) would reach them
// both directly and passed on from here, and the engine takes a second signal as "exit now, skip the drain".
// The engine is stopped first and the others once it has exited: calls keep the local AI server (and, in demo
// mode, their Asterisk) while they drain. Under systemd, use KillMode=mixed: the default signals every process
// of the unit, services included.
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
if (existsSync('.env')) process.loadEnvFile('.env');

/**
 * A stop signal can reach this script more than once for one request (npm passes on the signal its group got,
 * when it is this script's parent). Repeats within this window are that request again; a later signal is the
 * operator insisting, and goes to every service as it is: the engine then exits without waiting for its calls.
 */
const REPEAT_WINDOW_MS = 1000;

const disabled = (process.env.DISABLE_SERVICES ?? '').split(',');
const services = [
  { name: 'local-ai-server', entry: 'local-ai-server/src/main.ts' },
  { name: 'engine', entry: 'engine/src/main.ts' },
  { name: 'admin-ui', entry: 'admin-ui/src/server/main.ts' },
].filter((s) => existsSync(s.entry) && !disabled.includes(s.name));

/** The built-in Asterisk of demo mode (test-peers); it writes the run file `npm run call` finds it by. */
const DEMO_ASTERISK = { name: 'asterisk-demo', entry: 'test-peers/src/demo/main.ts' };
/** Any of these set means a real Asterisk is configured (ASTERISK_ARI_PASSWORD: the engine's alias for ARI_PASSWORD). */
const ARI_PASSWORD_VARS = ['ARI_PASSWORD', 'ARI_PASSWORD_FILE', 'ASTERISK_ARI_PASSWORD'];
const demoMode =
  services.some((s) => s.name === 'engine') &&
  existsSync(DEMO_ASTERISK.entry) &&
  !disabled.includes(DEMO_ASTERISK.name) &&
  !ARI_PASSWORD_VARS.some((name) => process.env[name]?.trim());

// The services run compiled (scripts/build-services.mjs): a start never compiles TypeScript, and what runs is
// always the sources of this checkout (only changed modules are rewritten, so this takes about a second).
const build = spawnSync(process.execPath, ['scripts/build-services.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (build.status !== 0) {
  process.stderr.write('start: compiling the services failed (output above)\n');
  process.exit(1);
}

const children = new Map();
let stopping = false;
let signalledAt = -Infinity;

function signalAll(signal) {
  for (const child of children.values()) child.kill(signal);
}

function stopAll(signal) {
  stopping = true;
  const engine = children.get('engine');
  if (!engine) {
    signalAll(signal);
    return;
  }
  engine.once('exit', () => signalAll(signal));
  engine.kill(signal);
}

function onSignal(signal) {
  const now = performance.now();
  if (now - signalledAt < REPEAT_WINDOW_MS) return;
  signalledAt = now;
  if (stopping) signalAll(signal);
  else stopAll(signal);
}

function start(service, env, ipc = false) {
  const stdio = ipc ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit';
  const compiled = service.entry.replace('/src/', '/dist/').replace(/\.ts$/, '.js');
  const child = spawn(process.execPath, ['--conditions=ai-agent-compiled', compiled], { stdio, env, detached: true });
  children.set(service.name, child);
  child.on('exit', (code, signal) => {
    children.delete(service.name);
    if (!stopping) {
      process.stderr.write(`start: ${service.name} exited (${signal ?? code}); stopping the others\n`);
      process.exitCode = code || 1;
      stopAll('SIGTERM');
    }
    if (children.size === 0) process.exit(process.exitCode ?? 0);
  });
  return child;
}

/**
 * Demo mode: starts the built-in Asterisk with one-time ARI credentials made here and handed over in memory only
 * (IPC to it, the environment to the engine). Resolves with the engine's ARI settings, or null if it did not start.
 */
async function startDemoAsterisk() {
  const credentials = {
    username: process.env.ARI_USERNAME?.trim() || 'ai-agent',
    password: randomBytes(24).toString('base64url'),
    app: process.env.ARI_APP?.trim() || 'ai-agent',
  };
  const child = start(DEMO_ASTERISK, process.env, true);
  const port = await new Promise((resolve) => {
    child.once('message', (message) => resolve(message?.port));
    child.once('exit', () => resolve(null));
    child.send(credentials, (err) => err && resolve(null));
  });
  if (!port) {
    // Exited (its exit stopped everything) or unreachable (stopped here).
    if (!stopping) {
      process.exitCode = 1;
      stopAll('SIGTERM');
    }
    return null;
  }
  process.stderr.write(
    `start: demo mode: no Asterisk configured; using the built-in test Asterisk on 127.0.0.1:${port}; ` +
      'set ARI_PASSWORD to use your own. Place a call with: npm run call\n',
  );
  return { ARI_URL: `http://127.0.0.1:${port}`, ARI_USERNAME: credentials.username, ARI_PASSWORD: credentials.password, AI_AGENT_DEMO: '1' };
}

process.on('SIGTERM', () => onSignal('SIGTERM'));
process.on('SIGINT', () => onSignal('SIGINT'));
// The services are in no terminal's process group: when the terminal goes away, only this script hears it.
process.on('SIGHUP', () => onSignal('SIGTERM'));

// Demo mode is the start script's to decide: a value inherited from elsewhere does not turn it on.
let engineEnv = { ...process.env, AI_AGENT_DEMO: '' };
if (demoMode) {
  const ari = await startDemoAsterisk();
  if (ari) engineEnv = { ...process.env, ...ari };
}
if (!stopping) {
  for (const service of services) start(service, service.name === 'engine' ? engineEnv : process.env);
}
