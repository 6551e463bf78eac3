// `npm run bench`: runs every benchmark suite, prints each figure as `<name>: <value> <unit>`, and writes them
// all to bench/results/latest.json. `npm run bench -- media` runs only the suite named "media"; a filter that
// names no suite runs every suite whose name contains it (`npm run bench -- capacity`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Figure {
  value: number;
  unit: string;
}
export type Figures = Record<string, Figure>;

interface Suite {
  name: string;
  module: string;
  exportName: string;
}

const SUITES: Suite[] = [
  { name: 'media', module: './media.ts', exportName: 'runMediaBench' },
  { name: 'local-ai', module: './local-ai.ts', exportName: 'runLocalAiBench' },
  { name: 'pipeline', module: './pipeline.ts', exportName: 'runPipelineBench' },
  { name: 'caller', module: './caller-latency.ts', exportName: 'runCallerBench' },
  { name: 'cloud', module: './cloud-latency.ts', exportName: 'runCloudBench' },
  { name: 'vad', module: './vad.ts', exportName: 'runVadBench' },
  { name: 'media-loop', module: './media-loop.ts', exportName: 'runMediaLoopBench' },
  { name: 'pipeline-capacity', module: './pipeline-capacity.ts', exportName: 'runPipelineCapacityBench' },
];

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) >= 100 ? 0 : 2);
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  // The services measured run compiled, as `npm start` runs them (common/src/testing/process.ts, nodeEntry).
  const build = spawnSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-services.mjs', import.meta.url))], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('building the services failed (output above)');
  process.env.SERVICES_COMPILED = '1';
  // A filter that is a suite's whole name selects that suite alone (`pipeline` is not also `pipeline-capacity`).
  const selects = (f: string, name: string): boolean => (SUITES.some((s) => s.name === f) ? name === f : name.includes(f));
  const selected = SUITES.filter((s) => filters.length === 0 || filters.some((f) => selects(f, s.name)));
  const results: Record<string, Figures> = {};
  let failed = false;
  for (const suite of selected) {
    console.log(`== ${suite.name}`);
    try {
      const mod = (await import(suite.module)) as Record<string, () => Promise<Figures>>;
      const run = mod[suite.exportName];
      if (!run) throw new Error(`${suite.module} does not export ${suite.exportName}`);
      const figures = await run();
      for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${format(f.value)} ${f.unit}`);
      results[suite.name] = figures;
    } catch (err) {
      failed = true;
      console.error(`${suite.name} benchmark failed: ${(err as Error).message}`);
    }
  }
  const out = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(out, { recursive: true });
  // A filtered run updates its suites and keeps the others' last figures.
  let previous: Record<string, Figures> = {};
  try {
    previous = (JSON.parse(readFileSync(`${out}latest.json`, 'utf8')) as { results?: Record<string, Figures> }).results ?? {};
  } catch {
    // first run
  }
  writeFileSync(
    `${out}latest.json`,
    `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gib: Math.round(totalmem() / 2 ** 30) }, node: process.version, results: { ...previous, ...results } }, null, 2)}\n`,
  );
  console.log(`wrote bench/results/latest.json`);
  process.exit(failed ? 1 : 0);
}

await main();
