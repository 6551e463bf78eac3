#!/usr/bin/env node
// Checks the dependency table (.dependency-cruiser.cjs, as `npm run lint:deps`), then runs every test file
// (`<workspace>/test/**/*.test.ts`) with Node's built-in runner through tsx.
// Node 20's `--test` does not expand globs, so the file list is built here.
// Usage: npm test [-- <substring filter>...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const workspaces = ['common', 'engine', 'local-ai-server', 'admin-ui', 'test-peers', 'bench'];
const filters = process.argv.slice(2);

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

// A layer importing against the table fails the run before any test: the violations are printed, each with its rule.
const deps = spawnSync(
  join(root, 'node_modules', '.bin', 'depcruise'),
  [...workspaces, '--config', '.dependency-cruiser.cjs', '--output-type', 'err-long'],
  { cwd: root, stdio: 'inherit' },
);
if (deps.status !== 0) {
  console.error('dependency check failed: the imports above break the table in .dependency-cruiser.cjs');
  process.exit(1);
}

const files = workspaces
  .flatMap((ws) => walk(join(root, ws, 'test'), []))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// One file at a time by default: many tests measure real-time audio on the wire, and a neighbour file
// saturating both cores (20 concurrent calls, a 100 000-packet fuzz) would measure the machine, not the code.
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
const child = spawn(
  process.execPath,
  [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts', 'file-times-reporter.mjs')}`, '--test-reporter-destination=stdout',
    ...files,
  ],
  { cwd: root, stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
