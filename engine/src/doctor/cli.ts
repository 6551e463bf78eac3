// `npm run doctor`: checks the engine's configuration against the world it runs in (Asterisk, its modules and
// Stasis app, the listeners, the media addresses Asterisk is given, the local AI server, provider keys, the data
// directory) and says what to fix. Exit code 1 when any check fails, 2 on bad usage.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  applyEnvAliases,
  installOutputScrubber,
  registerEnvSecrets,
  type EngineConfig,
} from '@ai-agent/common';
import { configPath, fromRepoRoot, loadEngineConfig, loadEngineSecrets } from '../config/runtime-config.ts';
import { fail, pass, warn, type CheckResult } from './check.ts';
import { renderJson, renderText } from './report.ts';
import { runChecks } from './run-checks.ts';

const USAGE = `usage: npm run doctor -- [--json] [--env-file <path>] [--timeout-ms <ms>]
  --json            machine-readable output (exit code as without)
  --env-file <path> settings file read like npm start reads .env (default: .env in the repository, if present);
                    variables already in the environment win
  --timeout-ms <ms> per network request (default 3000)`;

function usageError(message: string): never {
  process.stderr.write(`doctor: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parse(): { json: boolean; envFile: string | null; timeoutMs: number } {
  let values;
  try {
    ({ values } = parseArgs({
      options: { json: { type: 'boolean' }, 'env-file': { type: 'string' }, 'timeout-ms': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }));
  } catch (err) {
    usageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const timeoutMs = Number(values['timeout-ms'] ?? 3000);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 50 || timeoutMs > 60_000) {
    usageError('--timeout-ms must be a whole number of milliseconds, 50-60000');
  }
  const explicit = values['env-file'];
  if (explicit !== undefined && !existsSync(explicit)) usageError(`--env-file ${explicit}: no such file`);
  const fallback = fromRepoRoot('.env');
  return { json: values.json ?? false, envFile: explicit ?? (existsSync(fallback) ? fallback : null), timeoutMs };
}

/** The engine's settings, read as the engine reads them; a failure is the one result there is. */
function loadSettings(env: NodeJS.ProcessEnv): { results: CheckResult[]; config?: EngineConfig; ariPassword?: string } {
  const results: CheckResult[] = [];
  try {
    for (const notice of applyEnvAliases(env)) {
      results.push(
        notice.level === 'info'
          ? pass('env.alias', 'environment', notice.message)
          : warn('env.alias', 'environment', notice.message, 'remove the alias, or give it the same value'),
      );
    }
    const { ariPassword } = loadEngineSecrets(env);
    const config = loadEngineConfig(env);
    results.unshift(pass('config', 'configuration', `${configPath(env)} is valid`));
    return { results, config, ariPassword };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { results: [...results, fail('config', 'configuration', err.line(), `correct ${err.key}; the engine refuses to start until then`)] };
  }
}

async function main(): Promise<void> {
  const options = parse();
  if (options.envFile) process.loadEnvFile(options.envFile);
  registerEnvSecrets();
  installOutputScrubber();
  const settings = loadSettings(process.env);
  let results = settings.results;
  if (settings.config) {
    const { config, ariPassword } = settings;
    results = [...results, ...(await runChecks({ config, env: process.env, ariPassword, timeoutMs: options.timeoutMs, mode: 'doctor' }))];
  }
  process.stdout.write(options.json ? renderJson(results, settings.config ? configPath() : null) : renderText(results));
  // Exit now: idle keep-alive sockets to Asterisk would hold the process a second longer for nothing.
  process.exit(results.some((r) => r.status === 'fail') ? 1 : 0);
}

main().catch((err: unknown) => {
  process.stderr.write(`doctor failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(3);
});
