import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger, McpDockerConfig, McpStdioServerConfig } from '@ai-agent/common';
import { containerApplied } from './docker-container-spec.ts';
import { DockerSandboxTransport } from './docker-sandbox-transport.ts';
import { sandboxPlan } from './sandbox.ts';
import { StdioSandboxTransport } from './stdio-sandbox-transport.ts';

/** A stdio server's transport, whichever sandbox runs it: what it says about its end, for errors and reports. */
export type SandboxedTransport = Transport & {
  /** Why the server ended on its own (an exit code, a signal from a limit), or null. */
  readonly exitReason: string | null;
  /** The end of what it wrote to stderr. */
  readonly stderr: string;
};

export function isSandboxed(transport: Transport): transport is SandboxedTransport {
  return transport instanceof StdioSandboxTransport || transport instanceof DockerSandboxTransport;
}

/** What the server's sandbox applies here and what it cannot (`/mcp/test`, the log). */
export function sandboxSummary(config: McpStdioServerConfig): { applied: string[]; missing: string[] } {
  // A container's limits are the Docker engine's to apply; warnings it gives at create are logged then.
  if (config.sandbox.type === 'docker') return { applied: containerApplied(config), missing: [] };
  const { applied, missing } = sandboxPlan(config.command, config.args, config.sandbox);
  return { applied, missing };
}

/** The transport for a stdio server: a container (`sandbox.type: docker`) or a restricted child process. */
export function sandboxedTransport(
  id: string,
  config: McpStdioServerConfig,
  env: Readonly<Record<string, string>>,
  docker: McpDockerConfig,
  log: Logger,
): SandboxedTransport {
  if (config.sandbox.type === 'docker') return new DockerSandboxTransport(id, config, env, docker, log);
  const transport = new StdioSandboxTransport(id, config, env, log);
  if (transport.plan.missing.length) log.warn({ mcpServer: id, missing: transport.plan.missing }, 'mcp sandbox incomplete on this host');
  return transport;
}
