import {
  EgressAllowlist,
  fillSecretReferences,
  MCP_TOOL_SEPARATOR,
  registerSecret,
  scrub,
  Scrubber,
  type ContextConfig,
  type EgressConfig,
  type Logger,
  type McpConfig,
  type McpServerConfig,
} from '@ai-agent/common';
import { EgressClient } from '../../egress/egress-client.ts';
import { EgressGuard } from '../../egress/egress-guard.ts';
import type { HostResolver } from '../../egress/host-resolver.ts';
import type { Tool } from '../types.ts';
import { McpConnection, type McpToolInfo } from './mcp-connection.ts';
import { exposedName, mcpTool } from './mcp-tool.ts';

/** A server whose start failed is tried again by a later call at most this often. */
const RETRY_AFTER_MS = 30_000;

export interface McpServersOptions {
  config: McpConfig;
  egress: EgressConfig;
  resolver: HostResolver;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/** What `POST /mcp/test/:serverId` answers. */
export interface McpTestReport {
  server: string;
  transport: McpServerConfig['transport'];
  ok: boolean;
  ms: number;
  tools?: Array<{ name: string; description: string }>;
  error?: string;
  sandbox?: { applied: string[]; missing: string[] };
}

/**
 * The configured MCP servers (read once at start; a change needs a restart): each listed at start so calls
 * can offer its tools, and each call's context picks the tools its `mcp_tools` allows. Secrets in env values
 * and headers (`${env:NAME}`) are read by the constructor (a missing one is a ConfigError naming the key).
 */
export class McpServers {
  private readonly connections = new Map<string, McpConnection>();
  private readonly values = new Map<string, Record<string, string>>();
  private readonly scrubber = new Scrubber();
  private readonly client: EgressClient;
  private readonly retryAt = new Map<string, number>();

  constructor(private readonly opts: McpServersOptions) {
    // Caller numbers stay readable to the model; only the secrets are masked.
    this.scrubber.showPhoneNumbers = true;
    const guard = new EgressGuard(new EgressAllowlist(opts.egress.allow), opts.resolver);
    this.client = new EgressClient(guard, opts.egress.max_redirects);
    for (const [id, server] of Object.entries(opts.config.servers)) {
      const raw = server.transport === 'stdio' ? server.env : server.headers;
      const key = server.transport === 'stdio' ? 'env' : 'headers';
      const filled: Record<string, string> = {};
      for (const [name, value] of Object.entries(raw)) {
        const read = fillSecretReferences(value, `mcp.servers.${id}.${key}.${name}`, opts.env);
        for (const secret of read.secrets) {
          this.scrubber.addSecret(secret);
          registerSecret(secret);
        }
        filled[name] = read.value;
      }
      this.values.set(id, filled);
      this.connections.set(id, this.connectionFor(id, server));
    }
  }

  get size(): number {
    return this.connections.size;
  }

  /** Starts every server and lists its tools, in parallel; a failure is logged and retried by later calls. */
  async start(): Promise<void> {
    await Promise.all(
      [...this.connections.values()].map(async (connection) => {
        try {
          const tools = await connection.list();
          this.opts.log.info({ mcpServer: connection.id, tools: tools.map((t) => t.name), sandbox: connection.sandbox?.applied }, 'mcp server ready');
          const unnamed = tools.filter((t) => !exposedName(connection.id, t.name)).map((t) => t.name);
          if (unnamed.length) this.opts.log.warn({ mcpServer: connection.id, tools: unnamed }, 'mcp tools not offered: <server>__<tool> would exceed the 64 characters a model allows');
        } catch (err) {
          this.retryAt.set(connection.id, Date.now() + RETRY_AFTER_MS);
          this.opts.log.warn({ mcpServer: connection.id, reason: scrub((err as Error).message) }, 'mcp server could not be listed; its tools are not offered until it can');
        }
      }),
    );
  }

  /** The MCP tools one call of `context` offers its model: those its `mcp_tools` allows, of servers listed. */
  forContext(context: ContextConfig): Tool<Record<string, unknown>>[] {
    if (context.mcp_tools.length === 0) return [];
    const tools: Tool<Record<string, unknown>>[] = [];
    for (const [id, connection] of this.connections) {
      const allowed = context.mcp_tools.filter((entry) => entry.startsWith(`${id}${MCP_TOOL_SEPARATOR}`));
      if (allowed.length === 0) continue;
      const listed = connection.tools;
      if (!listed) {
        this.retryLater(connection);
        continue;
      }
      for (const info of listed) {
        const name = exposedName(id, info.name);
        if (!name || !allowed.some((entry) => matches(entry, id, info, name))) continue;
        tools.push(mcpTool(info, name, { connection, scrubber: this.scrubber, log: this.opts.log }));
      }
    }
    return tools;
  }

  /**
   * Starts a fresh instance of the server (not the one calls use), lists its tools and stops it. Errors come
   * back as text with the servers' secrets and any credentials masked.
   */
  async test(id: string): Promise<McpTestReport | null> {
    const server = this.opts.config.servers[id];
    if (!server) return null;
    const connection = this.connectionFor(id, server);
    const started = performance.now();
    const report: McpTestReport = { server: id, transport: server.transport, ok: false, ms: 0, sandbox: connection.sandbox };
    try {
      const tools = await connection.list();
      report.ok = true;
      report.tools = tools.map((t) => ({ name: exposedName(id, t.name) ?? `${id}${MCP_TOOL_SEPARATOR}${t.name}`, description: this.scrubber.scrub(t.description).slice(0, 300) }));
    } catch (err) {
      report.error = scrub(this.scrubber.scrub((err as Error).message)).slice(0, 1000);
    } finally {
      await connection.close();
    }
    report.ms = Math.round(performance.now() - started);
    return report;
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.close()));
  }

  private connectionFor(id: string, server: McpServerConfig): McpConnection {
    return new McpConnection(id, server, { values: this.values.get(id) ?? {}, egress: this.client, docker: this.opts.config.docker, log: this.opts.log });
  }

  /** A server that was down is listed again in the background, so later calls offer its tools. */
  private retryLater(connection: McpConnection): void {
    const at = this.retryAt.get(connection.id) ?? 0;
    if (Date.now() < at) return;
    this.retryAt.set(connection.id, Date.now() + RETRY_AFTER_MS);
    connection.list().then(
      () => this.opts.log.info({ mcpServer: connection.id }, 'mcp server ready'),
      (err: Error) => this.opts.log.warn({ mcpServer: connection.id, reason: scrub(err.message) }, 'mcp server still cannot be listed'),
    );
  }
}

function matches(entry: string, id: string, info: McpToolInfo, exposed: string): boolean {
  const prefix = `${id}${MCP_TOOL_SEPARATOR}`;
  const rest = entry.slice(prefix.length);
  return rest === '*' || entry === exposed || rest === info.name;
}
