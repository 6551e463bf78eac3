import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger, McpDockerConfig, McpServerConfig } from '@ai-agent/common';
import type { EgressClient } from '../../egress/egress-client.ts';
import { egressFetch } from './egress-fetch.ts';
import { isSandboxed, sandboxedTransport, sandboxSummary } from './sandboxed-transport.ts';

/** One tool as its server lists it. */
export interface McpToolInfo {
  name: string;
  description: string;
  /** JSON Schema of the arguments object, as the server gave it. */
  inputSchema: Record<string, unknown>;
}

/** Listing pages read at most (a server cannot make the engine page forever). */
const MAX_LIST_PAGES = 10;
/** Largest HTTP answer read from an MCP server. */
const MAX_HTTP_RESPONSE_BYTES = 4 * 1024 * 1024;
const CLIENT_INFO = { name: 'asterisk-ai-agent', version: '0.1.0' };

export interface McpConnectionDeps {
  /** stdio: the env to give the server, secrets filled in. http: the headers, secrets filled in. */
  values: Readonly<Record<string, string>>;
  /** The egress client HTTP servers are reached through; unused for stdio. */
  egress: EgressClient;
  /** Where the Docker engine is, for stdio servers in a container. */
  docker: McpDockerConfig;
  log: Logger;
}

/**
 * One MCP server, shared by every call: connected on first use, its tools listed once (at start), calls
 * bounded by the server's `timeout_ms`. A tool past its time is cancelled; the server is then pinged, and
 * stopped only if it does not answer (a stdio server stuck in a loop) — a slow tool in one call must not take
 * the server from the others. A stopped or exited server (an rlimit, a crash) is started afresh on next use.
 */
export class McpConnection {
  private client: Promise<{ client: Client; transport: Transport }> | null = null;
  private listed: McpToolInfo[] | null = null;
  /** Which connection is current: a late close event of an older one changes nothing. */
  private generation = 0;
  /** Why the last start or listing failed (shown by `/mcp/test`, logged). */
  lastError: string | null = null;

  constructor(readonly id: string, readonly config: McpServerConfig, private readonly deps: McpConnectionDeps) {}

  /** The tools from the last listing, or null when none succeeded yet (kept across restarts of the server). */
  get tools(): readonly McpToolInfo[] | null {
    return this.listed;
  }

  /** What the sandbox applies to this server here (stdio only). */
  get sandbox(): { applied: string[]; missing: string[] } | undefined {
    return this.config.transport === 'stdio' ? sandboxSummary(this.config) : undefined;
  }

  /** Connects when needed and lists the tools (again, after a restart). */
  async list(): Promise<readonly McpToolInfo[]> {
    const { client } = await this.connected();
    if (this.listed) return this.listed;
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await client.listTools(cursor ? { cursor } : undefined, { timeout: this.config.connect_timeout_ms });
      for (const tool of result.tools) {
        const { $schema: _ignored, ...inputSchema } = tool.inputSchema as Record<string, unknown>;
        tools.push({ name: tool.name, description: tool.description ?? tool.title ?? tool.name, inputSchema });
      }
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    this.listed = tools;
    this.lastError = null;
    return tools;
  }

  /**
   * Calls a tool; resolves with the text the model reads. `signal` is the call's own end (hangup), not a
   * barge-in: an answer the caller talked over is still wanted for the next turn.
   */
  async call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<{ text: string; isError: boolean }> {
    const current = this.connected();
    const { client, transport } = await current;
    try {
      const result = await client.callTool({ name, arguments: args }, undefined, { timeout: this.config.timeout_ms, signal });
      return { text: resultText(result.content), isError: result.isError === true };
    } catch (err) {
      const exited = isSandboxed(transport) ? transport.exitReason : null;
      if (exited) throw new Error(`the server stopped (${exited})`);
      if (isTimeout(err)) {
        // The SDK has sent the server a cancellation. Other calls may have requests in flight on the same
        // server: it is stopped only if it no longer answers at all (stuck), not because one tool was slow.
        if (isSandboxed(transport)) {
          const log = { mcpServer: this.id, tool: name, timeoutMs: this.config.timeout_ms };
          if (await answersPing(client)) {
            this.deps.log.warn(log, 'mcp tool timed out; the server still answers and is kept');
          } else {
            this.deps.log.warn(log, 'mcp tool timed out; stopping the server');
            await this.reset(current);
          }
        }
        throw new Error(`no answer within ${this.config.timeout_ms} ms`);
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.reset(this.client);
  }

  /** Stops the connection `which`, unless another call has already replaced it (the new one is kept). */
  private async reset(which: Promise<{ client: Client; transport: Transport }> | null): Promise<void> {
    if (which !== this.client) return;
    const pending = this.client;
    this.generation++;
    this.client = null;
    const open = await pending?.catch(() => null);
    await open?.client.close().catch(() => undefined);
  }

  private connected(): Promise<{ client: Client; transport: Transport }> {
    this.client ??= this.connect().catch((err: Error) => {
      this.client = null;
      this.lastError = err.message;
      throw err;
    });
    return this.client;
  }

  private async connect(): Promise<{ client: Client; transport: Transport }> {
    const transport = this.transport();
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    const generation = ++this.generation;
    // A server that goes away (exit, rlimit, kill) is connected afresh on next use.
    client.onclose = () => {
      if (this.generation === generation) this.client = null;
    };
    client.onerror = (err) => this.deps.log.debug({ mcpServer: this.id, err: { message: err.message } }, 'mcp transport error');
    try {
      await client.connect(transport, { timeout: this.config.connect_timeout_ms });
    } catch (err) {
      await transport.close().catch(() => undefined);
      const stderr = isSandboxed(transport) ? transport.stderr.trim() : '';
      const exited = isSandboxed(transport) && transport.exitReason ? ` (${transport.exitReason})` : '';
      throw new Error(`could not start: ${(err as Error).message}${exited}${stderr ? `; stderr: ${stderr.slice(-500)}` : ''}`);
    }
    return { client, transport };
  }

  private transport(): Transport {
    const { config } = this;
    if (config.transport === 'stdio') return sandboxedTransport(this.id, config, this.deps.values, this.deps.docker, this.deps.log);
    const fetch = egressFetch(this.deps.egress, { timeoutMs: Math.max(config.timeout_ms, config.connect_timeout_ms), maxResponseBytes: MAX_HTTP_RESPONSE_BYTES });
    return new StreamableHTTPClientTransport(new URL(config.url), {
      fetch,
      // The egress client follows redirects itself, checking each hop (and dropping headers off-origin).
      redirectPolicy: 'follow',
      requestInit: { headers: { ...this.deps.values } },
      reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
    });
  }
}

/** How long a server whose tool timed out has to answer a ping before it counts as stuck. */
const PING_TIMEOUT_MS = 2000;

async function answersPing(client: Client): Promise<boolean> {
  try {
    await client.ping({ timeout: PING_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  }
}

function isTimeout(err: unknown): boolean {
  return (err as { code?: number }).code === -32001 || /timed out/i.test((err as Error).message ?? '');
}

/** A tool result's content as text: text parts as they are, other parts named. */
function resultText(content: unknown): string {
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string; resource?: { text?: string; uri?: string } }) => {
      if (part.type === 'text') return part.text ?? '';
      if (part.type === 'resource') return part.resource?.text ?? `[resource ${part.resource?.uri ?? ''}]`;
      return `[${part.type ?? 'unknown'} content]`;
    })
    .join('\n')
    .trim();
}
