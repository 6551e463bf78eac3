import type { FastifyInstance } from 'fastify';
import type { AuthGuard } from '../auth-guard.ts';
import type { EngineMetrics } from '../metrics/engine-metrics.ts';

/** `GET /metrics` in Prometheus text format, behind the same guard as every operator route. */
export function metricsRoute(metrics: EngineMetrics) {
  return (app: FastifyInstance, guard: AuthGuard): void => {
    app.get('/metrics', { preHandler: guard.check }, async (_request, reply) => {
      const body = await metrics.render();
      return reply.type(metrics.contentType).send(body);
    });
  };
}
