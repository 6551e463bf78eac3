// Admin UI service entry point: settings from env (refusing to listen beyond loopback without JWT_SECRET),
// the embedded database, the first admin on first start, then the HTTP server. No logic of its own.
import {
  BindPolicyError,
  ConfigError,
  createLogger,
  exitWithError,
  installOutputScrubber,
  registerEnvSecrets,
} from '@ai-agent/common';
import { buildAdminServer } from './admin-server.ts';
import { FIRST_ADMIN, createFirstAdmin } from './auth/first-run.ts';
import { UserStore } from './auth/user-store.ts';
import { createDockerReader, type DockerReader } from './docker/reader.ts';
import { loadSettings, type AdminSettings } from './settings.ts';
import { openAdminDatabase } from './store/admin-database.ts';

const originalStderr = process.stderr.write.bind(process.stderr);

async function main(): Promise<void> {
  registerEnvSecrets();
  const log = createLogger({ service: 'admin-ui' });
  installOutputScrubber(log);
  let settings: AdminSettings;
  let docker: DockerReader | null;
  try {
    settings = loadSettings(process.env, log);
    docker = createDockerReader(process.env);
  } catch (err) {
    if (err instanceof BindPolicyError) exitWithError(`refusing to start: ${err.message}`);
    if (err instanceof ConfigError) exitWithError(err.line());
    throw err;
  }
  const db = openAdminDatabase(settings.dbPath);
  if (settings.authMode === 'none') log.warn('ADMIN_AUTH=none: every local caller is an administrator (development only)');
  else {
    const password = await createFirstAdmin(new UserStore(db));
    // Shown once, on the terminal only (stderr, never the log or its file), unscrubbed by design.
    if (password) {
      originalStderr(`\nadmin UI first start: user "${FIRST_ADMIN}", one-time password: ${password}\n` +
        'It must be changed at first login. Lost it? npm run admin -- reset-password admin\n\n');
    }
  }
  if (!settings.signingSecret && !/^https?:\/\/(127\.|\[::1\]|localhost)/.test(settings.engineUrl)) {
    log.warn('SERVICE_SECRET_ADMIN_UI is not set: a remote engine will refuse the admin UI (requests are unsigned)');
  }

  const { app } = await buildAdminServer(settings, db, docker, log);
  await app.listen({ host: settings.host, port: settings.port });
  log.info({ address: app.server.address(), engine: settings.engineUrl, signed: Boolean(settings.signingSecret) }, 'admin UI listening');
  const stop = (): void => void app.close().then(() => {
    db.close();
    process.exit(0);
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => exitWithError(`admin UI failed to start: ${err instanceof Error ? err.message : String(err)}`));
