// Entry point: load config, report what is installed, start the listener, close cleanly on SIGTERM/SIGINT.
import { ConfigError, createLogger, installOutputScrubber, registerEnvSecrets, resolveBindHost } from '@ai-agent/common';
import { loadLocalAiConfig } from './config.ts';
import { discoverInstalled, loadEngines } from './engines.ts';
import { startLocalAiServer } from './server.ts';

// Secrets are registered and every write to stdout/stderr is scrubbed before anything else can print.
registerEnvSecrets();
const log = createLogger({ service: 'local-ai-server' });
installOutputScrubber(log);

async function main(): Promise<void> {
  const cfg = loadLocalAiConfig();
  // The bind policy is checked again when listening; checking it first refuses before any model loads.
  resolveBindHost('local_ws');
  log.info({ installed: discoverInstalled(cfg) }, 'engines found on this machine');
  const engines = await loadEngines(cfg, log);
  log.info({ capabilities: engines.capabilities }, 'engines in use');
  let server;
  try {
    server = await startLocalAiServer(cfg, engines, log);
  } catch (err) {
    await engines.close();
    throw err;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, counters: server.counters }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || (err instanceof Error && err.name === 'BindPolicyError')) {
    log.fatal(err instanceof ConfigError ? err.line() : err.message);
  } else {
    log.fatal({ err }, 'local AI server failed to start');
  }
  process.exitCode = 1;
});
