// Admin UI service entry point. Refuses to listen beyond loopback without JWT_SECRET (bind policy).
import Fastify, { type FastifyBaseLogger } from 'fastify';
import {
  BindPolicyError,
  ConfigError,
  createLogger,
  exitWithError,
  installOutputScrubber,
  readSecret,
  registerEnvSecrets,
  resolveBindHost,
} from '@ai-agent/common';

async function main(): Promise<void> {
  registerEnvSecrets();
  installOutputScrubber();
  const log = createLogger({ service: 'admin-ui' });
  let host: string;
  try {
    readSecret('JWT_SECRET', process.env, 32);
    host = resolveBindHost('admin', process.env, log);
  } catch (err) {
    if (err instanceof BindPolicyError) exitWithError(`refusing to start: ${err.message}`);
    if (err instanceof ConfigError) exitWithError(err.line());
    throw err;
  }
  const port = Number(process.env.ADMIN_PORT || 3003);
  if (!Number.isInteger(port) || port < 0 || port > 65535) exitWithError('config error: ADMIN_PORT: must be a port number');
  const app = Fastify({ loggerInstance: log as FastifyBaseLogger });
  app.get('/live', async () => ({ status: 'ok' }));
  await app.listen({ host, port });
  log.info({ address: app.server.address() }, 'admin UI listening');
  const stop = (): void => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => exitWithError(`admin UI failed to start: ${err instanceof Error ? err.message : String(err)}`));
