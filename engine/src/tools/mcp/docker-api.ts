import { request } from 'node:http';
import type { Socket } from 'node:net';

/** Largest JSON answer read from the Docker engine (container lists, errors). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** The Docker engine could not be reached at all (no socket, no permission, not answering). */
export class DockerUnavailableError extends Error {}

/** The Docker engine answered with an error status; `message` is its own explanation. */
export class DockerApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The few calls of the Docker Engine API the container sandbox makes, over its Unix socket with node:http (no
 * CLI, no client library): create, attach, start, wait, kill, remove, and list by label. Every request is
 * bounded by `timeoutMs`, so a stuck daemon fails a server's start instead of hanging it.
 */
export class DockerApi {
  constructor(readonly socket: string, private readonly timeoutMs: number) {}

  /** One JSON request; resolves with the parsed answer (null when empty), rejects with DockerApiError on >= 400. */
  json<T>(method: string, path: string, body?: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        { socketPath: this.socket, method, path, timeout: timeoutMs, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`the Docker engine's answer to ${method} ${path.split('?')[0]} is too large`));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              reject(new DockerApiError(status, dockerMessage(text) ?? `HTTP ${status}`));
              return;
            }
            try {
              resolve((text ? JSON.parse(text) : null) as T);
            } catch {
              reject(new Error(`the Docker engine answered ${method} ${path.split('?')[0]} with something other than JSON`));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new DockerUnavailableError(`the Docker engine at ${this.socket} did not answer within ${timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof DockerUnavailableError || !err.code ? err : unavailable(this.socket, err)));
      req.end(payload);
    });
  }

  /**
   * Attaches to a container's stdin, stdout and stderr: the connection switches protocols (101) and becomes the
   * raw stream, stdout and stderr multiplexed in frames (see DemuxStream). Done before start, so nothing is missed.
   */
  attach(id: string): Promise<Socket> {
    const path = `/containers/${encodeURIComponent(id)}/attach?stream=1&stdin=1&stdout=1&stderr=1`;
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method: 'POST', path, timeout: this.timeoutMs, headers: { connection: 'Upgrade', upgrade: 'tcp' } });
      req.on('upgrade', (_res, socket, head) => {
        socket.setTimeout(0);
        if (head.length) socket.unshift(head);
        resolve(socket);
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => { text += d.slice(0, 2000); });
        res.on('end', () => reject(new DockerApiError(res.statusCode ?? 0, dockerMessage(text) ?? `attach answered HTTP ${res.statusCode}`)));
      });
      req.on('timeout', () => req.destroy(new DockerUnavailableError(`the Docker engine at ${this.socket} did not attach within ${this.timeoutMs} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(err instanceof DockerUnavailableError || !err.code ? err : unavailable(this.socket, err)));
      req.end();
    });
  }
}

function unavailable(socket: string, err: NodeJS.ErrnoException): DockerUnavailableError {
  const why =
    err.code === 'ENOENT' ? 'no socket there' :
    err.code === 'EACCES' ? 'the engine\'s user may not use the socket' :
    err.code === 'ECONNREFUSED' ? 'nothing listens on it' : (err.code ?? err.message);
  return new DockerUnavailableError(`Docker is unavailable at ${socket} (${why})`);
}

function dockerMessage(text: string): string | null {
  try {
    const message = (JSON.parse(text) as { message?: unknown }).message;
    return typeof message === 'string' ? message.slice(0, 500) : null;
  } catch {
    return text.trim() ? text.trim().slice(0, 500) : null;
  }
}
