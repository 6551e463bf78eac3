import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { EgressClient } from '../../egress/egress-client.ts';

export interface EgressFetchOptions {
  timeoutMs: number;
  maxResponseBytes: number;
}

/**
 * The `fetch` an MCP HTTP transport uses: every request goes through the egress client, so an MCP URL (and
 * each redirect) is checked against the allowlist and pinned to the address checked, like an HTTP tool's.
 * Answers are read whole (capped); the optional standing GET stream for server-initiated messages is declined
 * with the 405 the protocol provides for servers that offer none, since a tool call needs only POST answers.
 */
export function egressFetch(client: EgressClient, opts: EgressFetchOptions): FetchLike {
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    if (method === 'GET') return new Response(null, { status: 405 });
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => (headers[name] = value));
    const body = typeof init?.body === 'string' ? init.body : init?.body == null ? undefined : Buffer.from(await new Response(init.body).arrayBuffer());
    const res = await client.request({
      method,
      url: new URL(String(input)),
      headers,
      body,
      signal: init?.signal ?? undefined,
      timeoutMs: opts.timeoutMs,
      maxResponseBytes: opts.maxResponseBytes,
    });
    const out = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) out.append(name, v);
    }
    const empty = res.status === 204 || res.status === 304 || method === 'HEAD';
    return new Response(empty ? null : new Uint8Array(res.body), { status: res.status, headers: out });
  };
}
