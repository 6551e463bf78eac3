import { signRequest } from '@ai-agent/common';
import { SERVICE_ID } from '../settings.ts';

export interface EngineReply {
  status: number;
  /** Parsed JSON, or the text for non-JSON bodies (metrics). */
  body: unknown;
}

/** The engine did not answer (down, refused the connection, timed out). */
export class EngineUnavailable extends Error {
  constructor(readonly reason: string) {
    super(`engine unavailable: ${reason}`);
    this.name = 'EngineUnavailable';
  }
}

const TIMEOUT_MS = 5000;

/**
 * Requests to the engine's control API, each HMAC-signed as `admin-ui` when SERVICE_SECRET_ADMIN_UI is set:
 * the engine then need not trust this service's network position. Without the secret only an engine that
 * trusts loopback callers answers.
 */
export class EngineClient {
  constructor(private readonly baseUrl: string, private readonly secret: string | undefined) {}

  get signs(): boolean {
    return this.secret !== undefined;
  }

  /** `timeoutMs`: for a request known to take long (an MCP server test starts a process); 5 s otherwise. */
  async request(method: 'GET' | 'POST', path: string, json?: unknown, timeoutMs = TIMEOUT_MS): Promise<EngineReply> {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.secret) Object.assign(headers, signRequest(SERVICE_ID, this.secret, { method, path, body }));
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, { method, headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    } catch (err) {
      throw new EngineUnavailable((err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).name);
    }
    const text = await response.text();
    const isJson = (response.headers.get('content-type') ?? '').includes('application/json');
    let parsed: unknown = text;
    if (isJson) {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new EngineUnavailable('malformed reply');
      }
    }
    return { status: response.status, body: parsed };
  }
}
