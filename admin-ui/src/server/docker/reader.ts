// What the admin UI may learn from Docker, and nothing else: the product's containers and their logs, read
// through the read-only socket proxy (deploy/docker-proxy/haproxy.cfg). Only GET requests ever leave here.
import { ConfigError } from '@ai-agent/common';
import Docker from 'dockerode';
import { LogLineDecoder, type LogLine } from './log-lines.ts';

/** Compose sets this label on every container of a project; ours is ADMIN_COMPOSE_PROJECT. */
export const PROJECT_LABEL = 'com.docker.compose.project';
const SERVICE_LABEL = 'com.docker.compose.service';
export const DEFAULT_COMPOSE_PROJECT = 'asterisk-ai-agent';
/** A list or inspect that takes longer than this means Docker is not answering. */
const REQUEST_TIMEOUT_MS = 5000;
/** A full or short (12+) container id; names are not accepted, so a path never carries anything else. */
export const CONTAINER_ID = /^[a-f0-9]{12,64}$/;

export interface ContainerSummary {
  id: string;
  name: string;
  image: string;
  state: string;
  /** `healthy`, `unhealthy`, `starting`, or null when the image declares no health check. */
  health: string | null;
  startedAt: string | null;
  restarts: number;
  service: string | null;
}

export interface LogRequest {
  tail: number;
  follow: boolean;
  signal: AbortSignal;
}

export interface DockerReader {
  readonly project: string;
  /** The product's containers (carrying the project label), by name. */
  list(): Promise<ContainerSummary[]>;
  /** One of the product's containers by full or 12+ character id; undefined for any other container. */
  find(id: string): Promise<ContainerSummary | undefined>;
  /** Calls `onLine` with each redacted line; settles when the logs end (or `signal` aborts a follow). */
  logs(id: string, request: LogRequest, onLine: (line: LogLine) => void): Promise<void>;
}

/** Docker (or the proxy in front of it) did not answer: the pages say so and the rest of the UI works. */
export class DockerUnavailableError extends Error {
  constructor(cause: unknown) {
    super('docker unavailable', { cause });
    this.name = 'DockerUnavailableError';
  }
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE', 'ABORT_ERR']);

function unavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; statusCode?: number };
  return CONNECTION_ERRORS.has(e.code ?? '') || e.name === 'TimeoutError' || e.name === 'AbortError' || e.statusCode === 503;
}

/** Where the proxy listens: `http://host:port`, `tcp://host:port`, `unix:///path` or an absolute socket path. */
export function parseProxyUrl(value: string): Docker.DockerOptions {
  if (value.startsWith('/')) return { socketPath: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DOCKER_PROXY_URL', 'must be http://host:port, tcp://host:port, unix:///path or an absolute socket path');
  }
  if (url.protocol === 'unix:' && url.pathname.startsWith('/')) return { socketPath: url.pathname };
  if ((url.protocol === 'http:' || url.protocol === 'tcp:') && url.hostname && url.port && url.pathname.length <= 1) {
    return { protocol: 'http', host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) };
  }
  throw new ConfigError('DOCKER_PROXY_URL', 'must be http://host:port, tcp://host:port, unix:///path or an absolute socket path');
}

/** Null when DOCKER_PROXY_URL is unset: a bare-metal install without Docker. Throws ConfigError on a bad value. */
export function createDockerReader(env: NodeJS.ProcessEnv = process.env): DockerReader | null {
  const url = env.DOCKER_PROXY_URL?.trim();
  if (!url) return null;
  const project = env.ADMIN_COMPOSE_PROJECT?.trim() || DEFAULT_COMPOSE_PROJECT;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(project)) {
    throw new ConfigError('ADMIN_COMPOSE_PROJECT', 'must be a compose project name (lowercase letters, digits, "_" and "-")');
  }
  return new ProxyDockerReader(new Docker(parseProxyUrl(url)), project);
}

type ContainerInfo = Docker.ContainerInspectInfo;

class ProxyDockerReader implements DockerReader {
  constructor(private readonly docker: Docker, readonly project: string) {
    // Defence in depth behind the proxy: this client cannot even ask for a change.
    const modem = docker.modem as { dial(options: { method?: string }, callback: (err: unknown) => void): void };
    const dial = modem.dial.bind(modem);
    modem.dial = (options, callback) => {
      if (options.method !== 'GET') return callback(new Error(`refused: ${options.method} is not a read`));
      return dial(options, callback);
    };
  }

  async list(): Promise<ContainerSummary[]> {
    const listed = await this.call(() =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${PROJECT_LABEL}=${this.project}`] },
        abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }),
    );
    // Docker applied the filter; checking again costs nothing and does not trust it.
    const ours = listed.filter((c) => c.Labels?.[PROJECT_LABEL] === this.project);
    const inspected = await Promise.all(ours.map((c) => this.inspect(c.Id)));
    return inspected.filter((c): c is ContainerInfo => c !== undefined).map(summary).sort((a, b) => a.name.localeCompare(b.name));
  }

  async find(id: string): Promise<ContainerSummary | undefined> {
    const info = await this.owned(id);
    return info && summary(info);
  }

  async logs(id: string, request: LogRequest, onLine: (line: LogLine) => void): Promise<void> {
    const info = await this.owned(id);
    if (!info) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    const decoder = new LogLineDecoder(!info.Config.Tty, true, onLine);
    const options = { stdout: true, stderr: true, timestamps: true, tail: request.tail, abortSignal: request.signal };
    if (!request.follow) {
      const body = await this.call(() => this.docker.getContainer(info.Id).logs({ ...options, follow: false }));
      decoder.push(Buffer.isBuffer(body) ? body : Buffer.from(String(body)));
      decoder.end();
      return;
    }
    const stream = await this.call(() => this.docker.getContainer(info.Id).logs({ ...options, follow: true }));
    await new Promise<void>((resolve) => {
      const done = (): void => {
        decoder.end();
        resolve();
      };
      stream.on('data', (chunk: Buffer) => decoder.push(chunk));
      stream.on('end', done);
      stream.on('close', done);
      // An abort or a dropped proxy connection ends the follow; the caller decides what to tell the client.
      stream.on('error', done);
      request.signal.addEventListener('abort', () => (stream as NodeJS.ReadableStream & { destroy(): void }).destroy(), { once: true });
    });
  }

  /** The container's inspect data when it carries our project label; undefined for anything else. */
  private async owned(id: string): Promise<ContainerInfo | undefined> {
    if (!CONTAINER_ID.test(id)) return undefined;
    const info = await this.inspect(id);
    // A short id must name the container itself, not merely be a prefix Docker resolved to another.
    if (!info || !info.Id.startsWith(id) || info.Config.Labels?.[PROJECT_LABEL] !== this.project) return undefined;
    return info;
  }

  private async inspect(id: string): Promise<ContainerInfo | undefined> {
    try {
      return await this.call(() => this.docker.getContainer(id).inspect({ abortSignal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }));
    } catch (err) {
      // Gone between list and inspect, or never existed.
      if ((err as { statusCode?: number }).statusCode === 404) return undefined;
      throw err;
    }
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw unavailable(err) ? new DockerUnavailableError(err) : err;
    }
  }
}

function summary(info: ContainerInfo): ContainerSummary {
  const started = info.State.StartedAt;
  return {
    id: info.Id,
    name: info.Name.replace(/^\//, ''),
    image: info.Config.Image,
    state: info.State.Status,
    health: info.State.Health?.Status ?? null,
    startedAt: started && !started.startsWith('0001-') ? started : null,
    restarts: info.RestartCount ?? 0,
    service: info.Config.Labels?.[SERVICE_LABEL] ?? null,
  };
}
