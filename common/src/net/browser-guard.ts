// Browser-borne requests to a loopback listener: a page open on this host can send requests to 127.0.0.1
// (CSRF) and, through DNS rebinding, read the answers under its own name. Both carry tells a server can
// check: a Host that names a foreign domain, and an Origin (or Sec-Fetch-Site) saying another site sent it.
import { isIP } from 'node:net';
import { ConfigError } from '../config/errors.ts';

/** Listener prefixes of the env settings below: HEALTH_ALLOWED_HOSTS, LOCAL_WS_TRUST_LOOPBACK, ... */
export type HttpListener = 'health' | 'local_ws';

const PREFIX: Readonly<Record<HttpListener, string>> = { health: 'HEALTH', local_ws: 'LOCAL_WS' };

export interface BrowserPolicy {
  /** Host names (besides IP literals and localhost) this listener answers to, lower case. */
  hosts: ReadonlySet<string>;
  /** Browser origins allowed to call this listener (`https://admin.example`); none by default. */
  origins: ReadonlySet<string>;
}

export type BrowserRefusal = 'missing_host' | 'foreign_host' | 'cross_site_origin';

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `<PREFIX>_ALLOWED_HOSTS`: extra host names (e.g. the name a remote caller uses), comma-separated. */
export function loadBrowserPolicy(listener: HttpListener, env: NodeJS.ProcessEnv, origins: readonly string[] = []): BrowserPolicy {
  const name = `${PREFIX[listener]}_ALLOWED_HOSTS`;
  const hosts = new Set<string>();
  for (const raw of (env[name] ?? '').split(',')) {
    const host = raw.trim().toLowerCase();
    if (!host) continue;
    if (!HOST_NAME.test(host)) throw new ConfigError(name, `"${host}" is not a host name (no scheme, port or path)`);
    hosts.add(host);
  }
  return { hosts, origins: new Set(origins) };
}

/** `<PREFIX>_TRUST_LOOPBACK` (default true): whether a loopback caller counts as the operator. */
export function trustsLoopback(listener: HttpListener, env: NodeJS.ProcessEnv): boolean {
  const name = `${PREFIX[listener]}_TRUST_LOOPBACK`;
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return true;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, 'must be true or false');
}

/** The host part of a Host header value, without port or IPv6 brackets. */
function hostPart(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

type Header = string | string[] | undefined;
const one = (h: Header): string | undefined => (Array.isArray(h) ? h[0] : h);

/**
 * Why a request must be refused, or undefined. A Host that is an IP address cannot come from DNS rebinding;
 * a name must be localhost or allowlisted. Any Origin not allowlisted, and any Sec-Fetch-Site other than
 * same-origin/none, means a page of another site sent the request.
 */
export function browserRefusal(headers: { host?: Header; origin?: Header; 'sec-fetch-site'?: Header }, policy: BrowserPolicy): BrowserRefusal | undefined {
  const host = one(headers.host);
  if (!host) return 'missing_host';
  const name = hostPart(host);
  if (isIP(name) === 0 && name !== 'localhost' && !policy.hosts.has(name)) return 'foreign_host';
  const origin = one(headers.origin);
  if (origin !== undefined && !policy.origins.has(origin)) return 'cross_site_origin';
  const site = one(headers['sec-fetch-site']);
  if (site !== undefined && site !== 'same-origin' && site !== 'none' && origin === undefined) return 'cross_site_origin';
  return undefined;
}
