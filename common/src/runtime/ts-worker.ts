import { createRequire } from 'node:module';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Whether this code runs compiled (scripts/build-services.mjs) rather than as TypeScript under the loader. */
const COMPILED = import.meta.url.endsWith('.js');

/**
 * Starts a worker thread on a module of the product, named by its TypeScript source (`new URL('./x.ts',
 * import.meta.url)`). Compiled, the worker runs the `.js` beside the caller on plain Node. From source, worker
 * threads do not inherit the TypeScript loader the process runs under (Node 20): the worker registers it first,
 * then loads its real module.
 */
export function startTsWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (COMPILED) return new Worker(new URL(entry.href.replace(/\.ts$/, '.js')), options);
  const loader = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs');
  const loaderUrl = new URL(`file://${loader}`).href;
  const source = `import(${JSON.stringify(loaderUrl)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(source, { ...options, eval: true });
}
