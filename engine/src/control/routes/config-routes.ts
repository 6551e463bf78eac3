import { ConfigError, type Logger } from '@ai-agent/common';
import type { FastifyInstance } from 'fastify';
import type { AuthGuard } from '../auth-guard.ts';
import type { ConfigState, ReloadOutcome } from '../config/config-reloader.ts';

export interface ConfigRouteDeps {
  /** Validates the on-disk config and switches to it; throws ConfigError for an invalid one. */
  reload: () => ReloadOutcome | Promise<ReloadOutcome>;
  state: () => ConfigState;
  log: Logger;
}

/** `POST /reload` (one at a time: 409 while one runs) and `GET /config/state` (hashes and key paths, never values). */
export function configRoutes(deps: ConfigRouteDeps) {
  return (app: FastifyInstance, guard: AuthGuard): void => {
    let reloading = false;
    app.post('/reload', { preHandler: guard.check }, async (request, reply) => {
      if (reloading) return reply.code(409).send({ error: 'a reload is already in progress', requestId: request.id });
      reloading = true;
      try {
        const outcome = await deps.reload();
        deps.log.info({ ...outcome, by: request.authMethod }, 'configuration reloaded');
        return { reloaded: true, ...outcome };
      } catch (err) {
        if (err instanceof ConfigError) {
          deps.log.warn({ key: err.key, reason: err.reason }, 'reload refused: invalid configuration');
          return reply.code(400).send({ error: 'invalid configuration', key: err.key, reason: err.reason, requestId: request.id });
        }
        throw err;
      } finally {
        reloading = false;
      }
    });

    app.get('/config/state', { preHandler: guard.check }, async () => deps.state());
  };
}
