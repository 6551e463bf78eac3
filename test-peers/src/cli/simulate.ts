/**
 * `npm run simulate -- <scenario...>`: runs each scenario (config/scenarios/*.yaml) as a call through the Asterisk
 * test peer and a real engine, and reports which expectations held. Uses the running demo stack (`npm start`
 * without Asterisk) when there is one, else starts a stack of its own for the run.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, readSecret } from '@ai-agent/common';
import { loadScenario, summarise, textReport, type Scenario, type ScenarioResult } from '@ai-agent/common/simulation';
import { findDemoStack } from '../demo/run-file.ts';
import { CallerSpeech } from '../simulator/caller-speech.ts';
import { startOwnStack, type OwnStack } from '../simulator/own-stack.ts';
import type { ScriptStep } from '../caller/script.ts';
import { callerScript, runScenario, type SimulationTarget } from '../simulator/run-scenario.ts';
import { fromInvocationDir, loadRepoEnv } from './repo-env.ts';

const HELP = `Usage: npm run simulate -- [options] <scenario.yaml | directory>...

Places one call per scenario through the Asterisk test peer into a real engine and checks what the
agent said and did against the scenario's expectations. Uses the running demo stack (npm start with
no Asterisk configured) when there is one; otherwise starts its own (local AI server, engine, test
Asterisk) on free loopback ports for the run, with the engine config in use (AI_AGENT_CONFIG).

A directory stands for the *.yaml files in it. Exit code: 0 all passed, 1 a scenario failed,
2 a scenario file is invalid (nothing is run) or the run could not start.

Options:
  --json            print the report as JSON
  --parallel <n>    calls at once (default 1; latency bounds are stricter alone)
  --help            this text
`;

const stderr = (line: string): void => void process.stderr.write(`${line}\n`);

/** What the recognisers decode before the first call, so no call waits for a model load. */
const WARM_UP_WORDS = 'Hello, I am calling about my account.';
/** Recognisers warmed at most (the local AI server's default limit is 8, for every caller at once). */
const MAX_WARM_UP_STREAMS = 4;

function scenarioFiles(args: string[]): string[] {
  return args.flatMap((arg) => {
    const path = fromInvocationDir(arg);
    let isDir = false;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      // a missing file is reported when it is read
    }
    if (!isDir) return [path];
    return readdirSync(path).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(path, f));
  });
}

/** A file as the operator names it: relative to where the command ran, unless it lies elsewhere. */
function shown(file: string): string {
  const rel = relative(fromInvocationDir('.'), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** Every scenario, or every problem: a run starts only when all files are valid. */
function loadAll(files: string[]): Scenario[] | null {
  const scenarios: Scenario[] = [];
  let valid = true;
  for (const file of files) {
    try {
      scenarios.push({ ...loadScenario(file), file: shown(file) });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      valid = false;
      stderr(`scenario error in ${shown(file)}: ${err.key}: ${err.reason}`);
    }
  }
  return valid ? scenarios : null;
}

async function runAll(scenarios: Scenario[], scripts: ScriptStep[][], target: SimulationTarget, parallel: number): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = new Array(scenarios.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < scenarios.length) {
      const i = next++;
      stderr(`simulate: calling for ${scenarios[i]!.file}`);
      results[i] = await runScenario(scenarios[i]!, scripts[i]!, target);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, scenarios.length) }, worker));
  return results;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    options: { json: { type: 'boolean', default: false }, parallel: { type: 'string', default: '1' }, help: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const parallel = Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 20) {
    stderr(`--parallel: a whole number from 1 to 20, got ${values.parallel}`);
    return 2;
  }
  if (positionals.length === 0) {
    stderr('name at least one scenario file or directory (e.g. npm run simulate -- config/scenarios)');
    return 2;
  }
  loadRepoEnv();
  const scenarios = loadAll(scenarioFiles(positionals));
  if (!scenarios) return 2;
  if (scenarios.length === 0) {
    stderr('no scenario files found');
    return 2;
  }

  const dir = mkdtempSync(join(tmpdir(), 'simulate-'));
  let stack: OwnStack | null = null;
  let speech: CallerSpeech | null = null;
  const cleanUp = async (): Promise<void> => {
    await speech?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  // Ctrl-C: the stack of our own is stopped (it drains its calls) and the temporary files go.
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
  try {
    let run = findDemoStack();
    if (run) {
      stderr(`simulate: using the running demo stack (engine ${run.engine})`);
    } else {
      stderr('simulate: no demo stack running; starting one for this run (local AI server, engine, test Asterisk)…');
      stack = await startOwnStack(dir);
      run = stack.run;
    }
    speech = await CallerSpeech.connect(run.localAi, dir, readSecret('LOCAL_WS_AUTH_TOKEN'));
    const scripts: ScriptStep[][] = [];
    for (const scenario of scenarios) scripts.push(await callerScript(scenario, speech));
    await speech.warmRecognition(WARM_UP_WORDS, scenarios[0]!.caller.voice, Math.min(parallel, MAX_WARM_UP_STREAMS));
    await speech.close();
    const target: SimulationTarget = { run, engine: { url: run.engine, token: readSecret('HEALTH_API_TOKEN') } };
    const results = await runAll(scenarios, scripts, target, parallel);
    const report = summarise(results);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : textReport(report));
    return report.failed === 0 ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    stderr(`npm run simulate failed: ${(err as Error).message}`);
    process.exit(2);
  },
);
