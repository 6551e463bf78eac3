import type { FastifyInstance } from 'fastify';
import { ConfigError, MCP_SERVER_ID, parseYaml } from '@ai-agent/common';
import { EngineUnavailable, type EngineReply } from '../engine/engine-client.ts';
import { auditRequest, type RouteContext } from './context.ts';

/**
 * Starting an MCP server and listing its tools can take the server's `connect_timeout_ms` twice over; the
 * engine's other requests keep their 5 s. Past this the page is told the engine did not answer in time.
 */
const TEST_TIMEOUT_MS = 30_000;

const SERVER_PARAMS = { type: 'object', required: ['serverId'], properties: { serverId: { type: 'string', pattern: MCP_SERVER_ID.source } } } as const;

/** The `mcp.servers` of the config file on disk: ids and transports only (never commands, env or headers). */
function configuredServers(yaml: string): Array<{ id: string; transport: string }> {
  const tree = parseYaml(yaml) as { mcp?: { servers?: unknown } } | null;
  const servers = tree?.mcp?.servers;
  if (!servers || typeof servers !== 'object' || Array.isArray(servers)) return [];
  return Object.entries(servers as Record<string, { transport?: unknown }>)
    .filter(([id]) => MCP_SERVER_ID.test(id))
    .map(([id, server]) => ({ id, transport: typeof server?.transport === 'string' ? server.transport : 'unknown' }));
}

/**
 * MCP servers of the config and their "test" button: a relay to the engine's `POST /mcp/test/:serverId`,
 * signed like every engine request. Testing makes the engine start a process (stdio) or reach a remote
 * server, so it needs `config:write`, not `config:read`; cookie sessions need the CSRF header like every write.
 */
export function mcpRoutes(ctx: RouteContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/api/mcp/servers', { onRequest: ctx.requireScope('config:read') }, async (_request, reply) => {
      try {
        return { servers: configuredServers(ctx.configFile.read()) };
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return reply.code(422).send({ error: 'invalid config', key: err.key, reason: err.reason });
      }
    });

    app.post<{ Params: { serverId: string } }>(
      '/api/mcp/servers/:serverId/test',
      { onRequest: ctx.requireScope('config:write'), schema: { params: SERVER_PARAMS } },
      async (request, reply) => {
        const { serverId } = request.params;
        auditRequest(ctx, request, 'mcp.test', { serverId });
        let answer: EngineReply;
        try {
          answer = await ctx.engine.request('POST', `/mcp/test/${encodeURIComponent(serverId)}`, undefined, TEST_TIMEOUT_MS);
        } catch (err) {
          if (!(err instanceof EngineUnavailable)) throw err;
          if (err.reason === 'TimeoutError') return reply.code(504).send({ error: `the engine did not answer within ${TEST_TIMEOUT_MS / 1000} s` });
          return reply.code(503).send({ error: 'engine unavailable' });
        }
        // The engine's report is already redacted (secrets and credentials masked).
        if (answer.status === 200) return answer.body;
        if (answer.status === 404) return reply.code(404).send({ error: 'the running engine has no such MCP server (a new one needs an engine restart)' });
        if (answer.status === 409) return reply.code(409).send({ error: 'another test is running; try again in a moment' });
        reply.log.warn({ status: answer.status }, 'engine refused an MCP test');
        return reply.code(502).send({ error: 'engine refused the request' });
      },
    );
  };
}
