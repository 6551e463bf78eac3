import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger, McpDockerConfig, McpStdioServerConfig } from '@ai-agent/common';
import { DockerApi, DockerApiError } from './docker-api.ts';
import { containerSpec, ENGINE_LABEL } from './docker-container-spec.ts';

/** How much of the server's stderr is kept to explain a failure (`/mcp/test`, the log). */
const STDERR_TAIL_CHARS = 2000;
/** A server's stdout line longer than this ends the connection (a server cannot make the engine buffer without limit). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Once the attached streams end, how long the exit status may take to arrive before the transport closes anyway. */
const EXIT_STATUS_WAIT_MS = 2000;
/** The header of each frame on an attached stream without a TTY: stream (1 stdout, 2 stderr), 3 zero bytes, size. */
const FRAME_HEADER_BYTES = 8;

/** Leftover containers are removed once per Docker engine and label, before this process's first container. */
const leftoversRemoved = new Map<string, Promise<void>>();

/** Removes the containers an earlier run of this engine left (killed before it could stop them). */
function removeLeftovers(api: DockerApi, engineName: string, log: Logger): Promise<void> {
  const key = `${api.socket}\n${engineName}`;
  let done = leftoversRemoved.get(key);
  if (!done) {
    done = (async () => {
      const filters = encodeURIComponent(JSON.stringify({ label: [`${ENGINE_LABEL}=${engineName}`] }));
      const leftovers = await api.json<Array<{ Id: string }>>('GET', `/containers/json?all=1&filters=${filters}`);
      await Promise.all(leftovers.map((c) => api.json('DELETE', `/containers/${c.Id}?force=1`).catch(() => undefined)));
      if (leftovers.length) log.info({ removed: leftovers.length, engineName }, 'mcp: removed containers left by an earlier run');
    })();
    // A failure (Docker down) is tried again by the next start.
    done.catch(() => leftoversRemoved.delete(key));
    leftoversRemoved.set(key, done);
  }
  return done;
}

/**
 * MCP over the attached stdin/stdout of a container (see containerSpec for what it may do): created, attached
 * (before it starts, so nothing is missed), started; stderr is logged (scrubbed by the logger) and its tail kept.
 * Closing kills and removes the container; one that stops on its own is removed by Docker (auto-remove).
 */
export class DockerSandboxTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly api: DockerApi;
  private containerId: string | null = null;
  private stream: Socket | null = null;
  private readonly buffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  private frames: Buffer = Buffer.alloc(0);
  private stderrTail = '';
  private closed = false;
  /** Why the container ended, when it did on its own (an exit code, a signal from a limit). */
  exitReason: string | null = null;

  constructor(
    private readonly id: string,
    private readonly config: McpStdioServerConfig,
    /** The configured env with its `${env:…}` references filled in. */
    private readonly env: Readonly<Record<string, string>>,
    private readonly docker: McpDockerConfig,
    private readonly log: Logger,
  ) {
    this.api = new DockerApi(docker.socket, config.connect_timeout_ms);
  }

  /** The end of what the server wrote to stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  async start(): Promise<void> {
    await removeLeftovers(this.api, this.docker.engine_name, this.log);
    const name = `ai-agent-mcp-${this.docker.engine_name}-${this.id}-${randomBytes(4).toString('hex')}`;
    let created: { Id: string; Warnings?: string[] | null };
    try {
      created = await this.api.json('POST', `/containers/create?name=${encodeURIComponent(name)}`, containerSpec(this.id, this.config, this.env, this.docker.engine_name));
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 404) {
        throw new Error(`image ${this.config.sandbox.image} is not on the Docker host (the engine never pulls one: load it there first)`, { cause: err });
      }
      throw err;
    }
    this.containerId = created.Id;
    if (created.Warnings?.length) this.log.warn({ mcpServer: this.id, warnings: created.Warnings }, 'mcp sandbox incomplete on this host');
    try {
      const stream = await this.api.attach(created.Id);
      this.stream = stream;
      // Asked before start: with auto-remove, the container (and its status) is gone soon after it stops.
      const exited = this.api.json<{ StatusCode: number; Error?: { Message?: string } | null }>('POST', `/containers/${created.Id}/wait?condition=next-exit`, undefined, 0);
      exited.catch(() => undefined);
      stream.on('data', (chunk: Buffer) => this.demux(chunk));
      stream.on('error', (err) => this.onerror?.(err));
      stream.once('close', () => void this.ended(exited));
      await this.api.json('POST', `/containers/${created.Id}/start`);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stream = this.stream;
    if (!stream || this.closed) return Promise.reject(new Error('the server is not running'));
    return new Promise((resolve, reject) => {
      if (stream.write(serializeMessage(message))) resolve();
      else stream.once('drain', resolve).once('error', reject);
    });
  }

  /** Kills and removes the container at once (a stuck server gets no grace: it is past its time). */
  async close(): Promise<void> {
    const id = this.containerId;
    this.finish();
    if (id) await this.api.json('DELETE', `/containers/${id}?force=1`).catch(() => undefined);
  }

  /** Splits the attached stream's frames: stdout carries MCP messages, stderr is logged. */
  private demux(chunk: Buffer): void {
    this.frames = this.frames.length ? Buffer.concat([this.frames, chunk]) : chunk;
    while (this.frames.length >= FRAME_HEADER_BYTES) {
      const size = this.frames.readUInt32BE(4);
      if (this.frames.length < FRAME_HEADER_BYTES + size) break;
      const payload = this.frames.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + size);
      const kind = this.frames[0];
      this.frames = this.frames.subarray(FRAME_HEADER_BYTES + size);
      if (kind === 2) this.onStderr(payload.toString('utf8'));
      else if (kind === 1) this.onStdout(payload);
    }
  }

  private onStdout(payload: Buffer): void {
    try {
      this.buffer.append(payload);
      for (let message = this.buffer.readMessage(); message; message = this.buffer.readMessage()) this.onmessage?.(message);
    } catch (err) {
      this.onerror?.(err as Error);
      void this.close();
    }
  }

  private onStderr(text: string): void {
    this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
    for (const line of text.split('\n')) if (line.trim()) this.log.info({ mcpServer: this.id, stream: 'stderr' }, line.slice(0, 500));
  }

  /** The attached streams ended: the container stopped (or was killed); its exit status says why. */
  private async ended(exited: Promise<{ StatusCode: number; Error?: { Message?: string } | null }>): Promise<void> {
    if (this.closed) return;
    const status = await Promise.race([exited.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), EXIT_STATUS_WAIT_MS).unref())]);
    if (status) this.exitReason = exitReason(status.StatusCode, status.Error?.Message);
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.stream?.destroy();
    this.stream = null;
    this.onclose?.();
  }
}

/** 128 + n is death by signal n (SIGKILL: the memory limit or a kill; SIGXCPU: the CPU-time limit). */
function exitReason(code: number, error: string | undefined): string {
  if (error) return `the container failed: ${error.slice(0, 300)}`;
  const signal = code > 128 ? Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}
