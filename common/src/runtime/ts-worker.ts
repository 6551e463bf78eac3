import { createRequire } from 'node:module';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a TypeScript module. Worker threads do not inherit the TypeScript loader the
 * process runs under (Node 20), so the worker first registers it, then loads its real module.
 */
export function startTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const loader = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const loaderUrl = new URL(`file://${loader}`).href;
  const source = `import(${JSON.stringify(loaderUrl)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(source, { ...options, eval: true });
}
