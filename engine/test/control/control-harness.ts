// An in-process control server on an ephemeral loopback port, with the real guard and routes.
import { AuthFailureLimiter, RequestVerifier, createLogger } from '@ai-agent/common';
import type { FastifyInstance } from 'fastify';
import { AuthGuard } from '../../src/control/auth-guard.ts';
import { Readiness } from '../../src/control/readiness.ts';
import { buildControlServer, type ControlRoutes } from '../../src/control/server.ts';

export const testLog = createLogger({ service: 'control-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface Harness {
  app: FastifyInstance;
  guard: AuthGuard;
  base: string;
  close(): Promise<void>;
}

export async function startControl(routes: (guard: AuthGuard) => ControlRoutes[], readiness = new Readiness()): Promise<Harness> {
  const guard = new AuthGuard({
    log: testLog,
    token: 'harness-token-0123456789',
    verifier: new RequestVerifier({ callers: new Map() }),
    limiter: new AuthFailureLimiter(10, 60_000),
    trustLoopback: true,
  });
  const app = buildControlServer({ log: testLog, guard, readiness, version: 'test', routes: routes(guard) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  return { app, guard, base: `http://127.0.0.1:${port}`, close: () => app.close() };
}
