// Composition root: load config, build the graph, start, stop on signals. No logic of its own.
import {
  AuthFailureLimiter,
  BindPolicyError,
  ConfigError,
  RequestVerifier,
  createLogger,
  installOutputScrubber,
  registerEnvSecrets,
  resolveBindHost,
  scrub,
  scrubber,
} from '@ai-agent/common';
import { AuthGuard } from './control/auth-guard.ts';
import { Readiness } from './control/readiness.ts';
import { buildControlServer } from './control/server.ts';
import { onShutdownSignals } from './control/lifecycle/shutdown-signals.ts';
import { buildOperations, type EngineOperations } from './control/operations.ts';
import { configPath, loadEngineConfig, loadEngineSecrets } from './config/runtime-config.ts';

const VERSION = '0.1.0';

function fail(message: string): never {
  process.stderr.write(`${scrub(message)}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  registerEnvSecrets();
  installOutputScrubber();
  let config;
  let secrets;
  let healthHost: string;
  try {
    secrets = loadEngineSecrets();
    config = loadEngineConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.line());
    throw err;
  }
  scrubber.showPhoneNumbers = config.logging.show_phone_numbers;
  const log = createLogger({ service: 'engine', level: config.logging.level });
  try {
    healthHost = resolveBindHost('health', process.env, log);
  } catch (err) {
    if (err instanceof BindPolicyError) fail(`refusing to start: ${err.message}`);
    throw err;
  }
  if (healthHost !== '127.0.0.1' && healthHost !== '::1' && !secrets.healthApiToken) {
    log.warn('HEALTH_API_TOKEN is not set: protected control routes refuse every remote caller');
  }

  const readiness = new Readiness();
  readiness.declare('ari');
  const guard = new AuthGuard({
    log,
    token: secrets.healthApiToken,
    verifier: new RequestVerifier({ callers: secrets.callers }),
    limiter: new AuthFailureLimiter(config.control.auth_failures_per_minute, 60_000),
    trustLoopback: true,
  });

  // Operations: call records, metrics, limits, hot reload, drain.
  let ops: EngineOperations;
  try {
    ops = buildOperations({ log, config, loadConfig: () => loadEngineConfig(), guard, readiness });
  } catch (err) {
    fail(`refusing to start: ${(err as Error).message}`);
  }
  ops.start();

  const control = buildControlServer({ log, guard, readiness, version: VERSION, routes: ops.routes() });
  await control.listen({ host: healthHost, port: config.control.port });
  const address = control.server.address();
  log.info({ address, config: configPath() }, 'engine control server listening');

  onShutdownSignals(async () => {
    await ops.shutdown({ closers: [{ name: 'control server', close: () => control.close() }] });
  }, log);
}

main().catch((err: unknown) => {
  process.stderr.write(`${scrub(`engine failed to start: ${err instanceof Error ? err.message : String(err)}`)}\n`);
  process.exit(1);
});
