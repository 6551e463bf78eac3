#!/usr/bin/env node
// Compiles the services' TypeScript (every workspace's src/, except the admin web app, which Vite builds) to
// JavaScript in <workspace>/dist/, same layout, so that the services start on plain Node. Under the TypeScript
// loader every process (and each of the engine's worker threads) resolves and compiles all its modules again at
// start: seconds of CPU per start. The transform is esbuild's, the one the loader (tsx) applies, file by file;
// relative `.ts` imports become `.js`. Type checking is `npm run typecheck`'s.
// The workspaces' package exports send the `ai-agent-compiled` condition to dist/, everything else (tsc, tsx,
// the tests) to src/: `node --conditions=ai-agent-compiled <workspace>/dist/<entry>.js` runs a service.
// Usage: node scripts/build-services.mjs   (run by scripts/install.sh, `npm start` and `npm test`)
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const WORKSPACES = ['common', 'engine', 'local-ai-server', 'admin-ui', 'test-peers', 'bench'];
/** The browser app: Vite builds it into admin-ui/dist/web. */
const SKIP = join(root, 'admin-ui/src/web');
const tsconfigRaw = readFileSync(join(root, 'tsconfig.base.json'), 'utf8');
/** A relative import of another workspace's source (`../../engine/src/…`) goes to that workspace's dist/. */
const CROSS_WORKSPACE_SRC = new RegExp(`/(${WORKSPACES.join('|')})/src/`);
/** esbuild writes every module specifier as a double-quoted string: `from "./x.ts"`, `import("./x.ts")`. */
const RELATIVE_TS = /((?:\bfrom|\bimport\s*\(|^import)\s*")(\.{1,2}\/[^"]*)\.ts"/gm;

/** Every file under dir (none when it does not exist; a container build's context has no test peer or bench). */
const files = (dir) => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map((name) => join(dir, name)).filter((path) => statSync(path).isFile()) : []);

/**
 * A file is replaced only when its content changed, by a rename: a service starting while another build runs
 * (`npm start` beside `npm test`) reads each module whole, old or new, never half written or missing.
 */
function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return false;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
  return true;
}

const started = performance.now();
const jobs = [];
const outputs = new Set();
for (const ws of WORKSPACES) {
  const src = join(root, ws, 'src');
  const dist = join(root, ws, 'dist');
  for (const file of files(src).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith(`${SKIP}/`))) {
    const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
    outputs.add(out);
    jobs.push(
      transform(readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20', tsconfigRaw, sourcefile: relative(root, file) }).then(({ code }) =>
        writeIfChanged(out, code.replace(RELATIVE_TS, (_, head, path) => `${head}${path.replace(CROSS_WORKSPACE_SRC, '/$1/dist/')}.js"`)),
      ),
    );
  }
  // The compiled twin of a source that is gone goes too (admin-ui/dist/web is the Vite build's).
  // A build running beside this one has its .tmp files in there for a moment: they are its to rename.
  for (const file of files(dist)) if (!outputs.has(file) && !file.endsWith('.tmp') && !file.startsWith(join(dist, 'web/'))) rmSync(file);
}
const written = (await Promise.all(jobs)).filter(Boolean).length;
console.log(`build: ${jobs.length} modules, ${written} changed, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
