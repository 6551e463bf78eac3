import type { FastifyInstance } from 'fastify';
import type { Logger } from '@ai-agent/common';
import type { AuthGuard } from '../auth-guard.ts';

/** What a test reports (built by the MCP servers, wired in by main): only what this route logs is named here. */
export interface McpTestReport {
  server: string;
  ok: boolean;
  ms: number;
  tools?: readonly unknown[];
}

export interface McpRouteDeps {
  /** Starts a fresh instance of a configured server, lists its tools, stops it; null for an unknown id. */
  test: (serverId: string) => Promise<McpTestReport | null>;
  log: Logger;
}

/**
 * `POST /mcp/test/:serverId` (protected): whether a configured MCP server starts and which tools it offers.
 * The server is one from the config file on disk; nothing of the request reaches its command. One test runs
 * at a time (each may start a process): another gets 409.
 */
export function mcpRoutes(deps: McpRouteDeps) {
  return (app: FastifyInstance, guard: AuthGuard): void => {
    let testing = false;
    app.post<{ Params: { serverId: string } }>(
      '/mcp/test/:serverId',
      {
        preHandler: guard.check,
        schema: { params: { type: 'object', properties: { serverId: { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' } }, required: ['serverId'] } },
      },
      async (request, reply) => {
        if (testing) return reply.code(409).send({ error: 'a test is already running', requestId: request.id });
        testing = true;
        try {
          const report = await deps.test(request.params.serverId);
          if (!report) return reply.code(404).send({ error: 'no such MCP server', requestId: request.id });
          deps.log.info({ mcpServer: report.server, ok: report.ok, tools: report.tools?.length, ms: report.ms, by: request.authMethod }, 'mcp server tested');
          return report;
        } finally {
          testing = false;
        }
      },
    );
  };
}
