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
import { changedKeys, configPath, loadEngineConfig, loadEngineSecrets } from './config/runtime-config.ts';

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

  let running = config;
  const control = buildControlServer({
    log,
    guard,
    readiness,
    version: VERSION,
    reload: async () => {
      const next = loadEngineConfig();
      const changed = changedKeys(running, next);
      running = next;
      return { changed };
    },
  });
  await control.listen({ host: healthHost, port: config.control.port });
  const address = control.server.address();
  log.info({ address, config: configPath() }, 'engine control server listening');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    readiness.startDraining();
    log.info({ signal }, 'stopping');
    await control.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${scrub(`engine failed to start: ${err instanceof Error ? err.message : String(err)}`)}\n`);
  process.exit(1);
});
