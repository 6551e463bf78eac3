import type { Logger } from '@ai-agent/common';

/**
 * SIGTERM/SIGINT: the first runs `shutdown` (a drain) and exits 0 when it is done (1 if it failed); a second
 * signal exits at once, for an operator who will not wait.
 */
export function onShutdownSignals(shutdown: (signal: string) => Promise<void>, log: Logger): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    shutdown(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ reason: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
