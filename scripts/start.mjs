#!/usr/bin/env node
// Starts the product's services side by side (local AI server, engine, admin UI) with the settings from
// .env (if present) over the environment, forwards stop signals, and stops all if one dies.
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
process.chdir(root);
if (existsSync('.env')) process.loadEnvFile('.env');

const services = [
  { name: 'local-ai-server', entry: 'local-ai-server/src/main.ts' },
  { name: 'engine', entry: 'engine/src/main.ts' },
  { name: 'admin-ui', entry: 'admin-ui/src/server/main.ts' },
].filter((s) => existsSync(s.entry) && !(process.env.DISABLE_SERVICES ?? '').split(',').includes(s.name));

const children = new Map();
let stopping = false;

function stopAll(signal) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill(signal);
}

for (const service of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', service.entry], { stdio: 'inherit', env: process.env });
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
process.on('SIGTERM', () => stopAll('SIGTERM'));
process.on('SIGINT', () => stopAll('SIGINT'));
