import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { EgressError } from './egress-error.ts';
import type { EgressGuard, PinnedAddress } from './egress-guard.ts';

export interface EgressRequest {
  method: string;
  url: URL;
  /** Sent to the URL's origin only: a redirect to another origin drops them (they may hold credentials). */
  headers: Readonly<Record<string, string>>;
  body?: string | Buffer;
  /** The whole request, redirects included, until the last byte of the answer. */
  timeoutMs: number;
  /** A larger answer is cut off while it arrives (EgressError 'too_large'). */
  maxResponseBytes: number;
  /** The caller's own cancellation (a call that ended). */
  signal?: AbortSignal;
}

export interface EgressResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Where the answer came from, after redirects. */
  url: URL;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Node resolves nothing when given an address; were it ever asked to, the pin would be bypassed: refuse. */
const refuseLookup: LookupFunction = (hostname, _options, callback) => {
  callback(new EgressError('refused', `unexpected DNS lookup of ${hostname} after the address was pinned`), '', 0);
};

/**
 * Outbound HTTP under the egress guard. Each hop (the first URL and every redirect, followed here by hand up to
 * `maxRedirects`) is checked and pinned by the guard, and the socket connects to that pinned address, with the
 * URL's host name kept for the Host header and TLS (SNI and certificate check).
 */
export class EgressClient {
  constructor(private readonly guard: EgressGuard, private readonly maxRedirects: number) {}

  async request(req: EgressRequest): Promise<EgressResponse> {
    const timeout = AbortSignal.timeout(req.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    let { method, url, body } = req;
    let headers = req.headers;
    try {
      for (let redirects = 0; ; redirects++) {
        const pinned = await abortable(this.guard.pin(url), signal);
        const res = await send(url, pinned, method, headers, body, signal);
        const location = res.headers.location;
        if (!REDIRECTS.has(res.statusCode ?? 0) || !location) {
          return { status: res.statusCode ?? 0, headers: res.headers, body: await readCapped(res, req.maxResponseBytes, url), url };
        }
        res.destroy();
        if (redirects >= this.maxRedirects) throw new EgressError('too_many_redirects', `more than ${this.maxRedirects} redirects from ${req.url.host}`);
        const next = new URL(location, url);
        if (next.origin !== url.origin) headers = {};
        // 303, and 301/302 after a POST, continue as a GET without the body (what clients do, RFC 9110 15.4).
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          method = method === 'HEAD' ? 'HEAD' : 'GET';
          body = undefined;
        }
        url = next;
      }
    } catch (err) {
      if (err instanceof EgressError) throw err;
      if (timeout.aborted) throw new EgressError('timeout', `no complete answer from ${req.url.host} within ${req.timeoutMs} ms`);
      if (signal.aborted) throw new EgressError('aborted', 'the request was cancelled');
      throw new EgressError('network', `${url.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function send(url: URL, pinned: PinnedAddress, method: string, headers: Readonly<Record<string, string>>, body: string | Buffer | undefined, signal: AbortSignal): Promise<IncomingMessage> {
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)({
      host: pinned.address,
      family: pinned.family,
      port: url.port || (secure ? 443 : 80),
      method,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, host: url.host, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      // TLS checks the certificate against the name the URL asked for, not the address connected to.
      ...(secure && !isIP(hostname) ? { servername: hostname } : {}),
      lookup: refuseLookup,
      agent: false,
      signal,
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(body);
  });
}

function readCapped(res: IncomingMessage, maxBytes: number, url: URL): Promise<Buffer> {
  const tooLarge = (): EgressError => new EgressError('too_large', `the answer from ${url.host} exceeds ${maxBytes} bytes`);
  if (Number(res.headers['content-length'] ?? 0) > maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', reject);
  });
}
