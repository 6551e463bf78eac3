#!/usr/bin/env node
// Starts the product's services side by side (local AI server, engine, admin UI) with the settings from
// .env (if present) over the environment, stops them on SIGTERM/SIGINT/SIGHUP, and stops all if one dies.
//
// Each service runs in a process group of its own, so a stop signal reaches it from here only, once. Were the
// services in this script's group, a terminal's Ctrl-C (sent to the whole foreground group) would reach them
// both directly and passed on from here, and the engine takes a second signal as "exit now, skip the drain".
// The engine is stopped first and the others once it has exited: calls keep the local AI server while they
// drain. Under systemd, use KillMode=mixed: the default signals every process of the unit, services included.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
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

const services = [
  { name: 'local-ai-server', entry: 'local-ai-server/src/main.ts' },
  { name: 'engine', entry: 'engine/src/main.ts' },
  { name: 'admin-ui', entry: 'admin-ui/src/server/main.ts' },
].filter((s) => existsSync(s.entry) && !(process.env.DISABLE_SERVICES ?? '').split(',').includes(s.name));

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

for (const service of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', service.entry], { stdio: 'inherit', env: process.env, detached: true });
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
}
process.on('SIGTERM', () => onSignal('SIGTERM'));
process.on('SIGINT', () => onSignal('SIGINT'));
// The services are in no terminal's process group: when the terminal goes away, only this script hears it.
process.on('SIGHUP', () => onSignal('SIGTERM'));
