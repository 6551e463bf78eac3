import type { FastifyInstance } from 'fastify';
import type { Logger } from '@ai-agent/common';
import { ApiTokens } from './auth/api-tokens.ts';
import { LoginLockout } from './auth/login-lockout.ts';
import { Sessions } from './auth/sessions.ts';
import { SigningKey } from './auth/signing-key.ts';
import { UserStore } from './auth/user-store.ts';
import { dockerRoutes } from './docker/routes.ts';
import type { DockerReader } from './docker/reader.ts';
import { EngineClient } from './engine/engine-client.ts';
import { EngineFeed } from './engine/engine-feed.ts';
import { ConfigFile } from './files/config-file.ts';
import { EnvFile } from './files/env-file.ts';
import { buildApp } from './http/app.ts';
import { authenticator, requireScope } from './http/authenticate.ts';
import { adminRoutes } from './routes/admin-routes.ts';
import { publicAuthRoutes, sessionRoutes } from './routes/auth-routes.ts';
import { configRoutes } from './routes/config-routes.ts';
import type { RouteContext } from './routes/context.ts';
import { engineRoutes } from './routes/engine-routes.ts';
import { mcpRoutes } from './routes/mcp-routes.ts';
import { testCallRoutes } from './routes/test-call-routes.ts';
import { simulatorRoutes } from './routes/simulator-routes.ts';
import { defaultAllowedHosts, type AdminSettings } from './settings.ts';
import type { AdminDatabase } from './store/admin-database.ts';
import { AuditLog } from './store/audit-log.ts';

export interface AdminServer {
  app: FastifyInstance;
  feed: EngineFeed;
}

/** Builds the admin UI's object graph and HTTP server (not yet listening). */
export async function buildAdminServer(settings: AdminSettings, db: AdminDatabase, docker: DockerReader | null, log: Logger): Promise<AdminServer> {
  const engine = new EngineClient(settings.engineUrl, settings.signingSecret);
  const feed = new EngineFeed(engine, settings.eventsPollMs, log);
  const users = new UserStore(db);
  const sessions = new Sessions(db, new SigningKey(db, settings.jwtSecret), settings.accessTtlSeconds, settings.sessionHours * 3600, settings.refreshGraceSeconds * 1000);
  const tokens = new ApiTokens(db);
  const ctx: RouteContext = {
    settings,
    users,
    sessions,
    tokens,
    lockout: new LoginLockout(settings.loginMaxFailures, settings.lockoutSeconds * 1000),
    audit: new AuditLog(db),
    engine,
    feed,
    configFile: new ConfigFile(settings.configPath, process.env),
    envFile: new EnvFile(settings.envFilePath, process.env),
    requireScope,
  };

  let app: FastifyInstance | undefined;
  const listeningPort = (): number => {
    const address = app?.server.address();
    return typeof address === 'object' && address ? address.port : settings.port;
  };
  let defaults: string[] | undefined;
  const allowedHosts = (): readonly string[] => settings.allowedHosts ?? (defaults ??= defaultAllowedHosts(listeningPort()));

  app = await buildApp({
    log,
    allowedHosts,
    webRoot: settings.webRoot,
    trustedProxies: settings.trustedProxies,
    authenticate: authenticator({ mode: settings.authMode, sessions, users, tokens, cookieSecure: settings.cookieSecure }),
    publicRoutes: publicAuthRoutes(ctx),
    protectedRoutes: async (scope) => {
      await scope.register(sessionRoutes(ctx));
      await scope.register(engineRoutes(ctx));
      await scope.register(testCallRoutes(ctx));
      await scope.register(simulatorRoutes(ctx));
      await scope.register(configRoutes(ctx));
      await scope.register(mcpRoutes(ctx));
      await scope.register(adminRoutes(ctx));
      await scope.register(dockerRoutes, { requireScope, docker });
    },
  });
  app.addHook('onClose', async () => feed.stop());
  return { app, feed };
}
