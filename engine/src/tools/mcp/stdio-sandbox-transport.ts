import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger, McpStdioServerConfig } from '@ai-agent/common';
import { sandboxAbilities, sandboxPlan, type SandboxPlan } from './sandbox.ts';

/** How much of the server's stderr is kept to explain a failure (`/mcp/test`, the log). */
const STDERR_TAIL_CHARS = 2000;
/** A server's stdout line longer than this ends the connection (a server cannot make the engine buffer without limit). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * MCP over the stdin/stdout of a sandboxed child process (see sandbox.ts): its own process group (so a timeout
 * kills everything it started), its environment exactly the configured one, a private temp dir owned by the
 * sandbox user as working directory and HOME, stderr logged (scrubbed by the logger) and its tail kept.
 */
export class StdioSandboxTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  readonly plan: SandboxPlan;
  private child: ChildProcess | null = null;
  private dir: string | null = null;
  private readonly buffer = new ReadBuffer({ maxBufferSize: MAX_MESSAGE_BYTES });
  private stderrTail = '';
  private closed = false;
  /** Why the process ended, when it did on its own (a signal from an rlimit, an exit code). */
  exitReason: string | null = null;

  constructor(
    private readonly id: string,
    private readonly config: McpStdioServerConfig,
    /** The configured env with its `${env:…}` references filled in. */
    private readonly env: Readonly<Record<string, string>>,
    private readonly log: Logger,
  ) {
    this.plan = sandboxPlan(config.command, config.args, config.sandbox);
  }

  /** The end of what the server wrote to stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  async start(): Promise<void> {
    const abilities = sandboxAbilities();
    const dir = mkdtempSync(join(tmpdir(), `mcp-${this.id}-`));
    this.dir = dir;
    if (abilities.root) chownSync(dir, this.config.sandbox.uid, this.config.sandbox.gid);
    const child = spawn(this.plan.command, this.plan.args, {
      cwd: dir,
      env: { HOME: dir, TMPDIR: dir, ...this.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    child.on('error', (err) => this.onerror?.(err));
    child.once('exit', (code, signal) => {
      // SIGXCPU/SIGKILL without our kill() are the CPU rlimit; SIGSEGV/SIGABRT are often the memory one.
      this.exitReason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      // Whatever it started dies with it.
      this.kill();
      this.finish();
    });
    child.stdin!.on('error', (err) => this.onerror?.(err));
    child.stdout!.on('data', (chunk: Buffer) => {
      try {
        this.buffer.append(chunk);
        for (let message = this.buffer.readMessage(); message; message = this.buffer.readMessage()) this.onmessage?.(message);
      } catch (err) {
        this.onerror?.(err as Error);
        this.kill();
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
      for (const line of text.split('\n')) if (line.trim()) this.log.info({ mcpServer: this.id, stream: 'stderr' }, line.slice(0, 500));
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || this.closed) return Promise.reject(new Error('the server is not running'));
    return new Promise((resolve, reject) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once('drain', resolve).once('error', reject);
    });
  }

  /** Stops the whole process group at once (a stuck server gets no grace: it is past its time). */
  kill(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }

  async close(): Promise<void> {
    this.kill();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.onclose?.();
  }
}
