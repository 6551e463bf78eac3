import { isIP } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, isLoopbackHost, readSecret, resolveBindHost, serviceSecretVar, type Logger } from '@ai-agent/common';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The signing identity the engine knows this service by (its ALLOWED_CALLERS entry). */
export const SERVICE_ID = 'admin-ui';

export type AuthMode = 'password' | 'none';

/** Everything the admin UI reads from its environment, validated once at start. */
export interface AdminSettings {
  host: string;
  port: number;
  /** Host header values accepted (lower case, `host` or `host:port`); empty until the port is known. */
  allowedHosts: string[] | null;
  /** JWT_SECRET (undefined is allowed on loopback only: a random key kept in the database is used). */
  jwtSecret: string | undefined;
  authMode: AuthMode;
  dbPath: string;
  cookieSecure: boolean;
  accessTtlSeconds: number;
  sessionHours: number;
  /** A refresh token rotated this recently answers a concurrent refresh (another tab) with the same new pair. */
  refreshGraceSeconds: number;
  loginMaxFailures: number;
  lockoutSeconds: number;
  /**
   * ADMIN_TRUSTED_PROXIES: reverse proxies (addresses or CIDRs) whose X-Forwarded-For names the client; the rate
   * limit, the login lockout and the audit log then see each client instead of the proxy. Empty: headers ignored.
   */
  trustedProxies: string[];
  engineUrl: string;
  /** SERVICE_SECRET_ADMIN_UI: signs every engine request; without it only a loopback engine answers. */
  signingSecret: string | undefined;
  configPath: string;
  envFilePath: string;
  eventsPollMs: number;
  webRoot: string;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}`);
  return value;
}

function fromRoot(path: string): string {
  return isAbsolute(path) ? path : resolve(REPO_ROOT, path);
}

function parseAllowedHosts(raw: string | undefined): string[] | null {
  if (!raw?.trim()) return null;
  const hosts = raw.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const h of hosts) {
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(h)) throw new ConfigError('ADMIN_ALLOWED_HOSTS', `"${h}" is not a host or host:port`);
  }
  return hosts;
}

function parseTrustedProxies(raw: string | undefined): string[] {
  const entries = (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const [address, prefix, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const bits = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (!family || !prefixOk || extra !== undefined) throw new ConfigError('ADMIN_TRUSTED_PROXIES', `"${entry}" is not an IP address or CIDR`);
  }
  return entries;
}

function engineUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.ADMIN_ENGINE_URL?.trim() || `http://127.0.0.1:${env.HEALTH_PORT?.trim() || '15000'}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('ADMIN_ENGINE_URL', 'must be an http:// or https:// URL');
  }
  if (!/^https?:$/.test(url.protocol) || url.username || url.password) {
    throw new ConfigError('ADMIN_ENGINE_URL', 'must be an http:// or https:// URL without credentials');
  }
  return url.origin;
}

/** ADMIN_DB_PATH, else admin.sqlite in DATA_DIR (default data/): shared by the server and the CLI. */
export function adminDbPath(env: NodeJS.ProcessEnv): string {
  const explicit = env.ADMIN_DB_PATH?.trim();
  return explicit ? fromRoot(explicit) : join(fromRoot(env.DATA_DIR?.trim() || 'data'), 'admin.sqlite');
}

/** The repository's .env, which the services read at start (scripts/start.mjs) and the CLI reads too. */
export const REPO_ENV_FILE = join(REPO_ROOT, '.env');

/** Throws BindPolicyError / ConfigError naming the variable at fault. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, log?: Logger): AdminSettings {
  const host = resolveBindHost('admin', env, log);
  const loopback = isLoopbackHost(host);
  const jwtSecret = readSecret('JWT_SECRET', env, 32);
  if (!loopback && !jwtSecret) throw new ConfigError('JWT_SECRET', 'required (at least 32 characters) when ADMIN_BIND_HOST is not loopback');
  const mode = env.ADMIN_AUTH?.trim() || 'password';
  if (mode !== 'password' && mode !== 'none') throw new ConfigError('ADMIN_AUTH', 'must be "password" or "none"');
  if (mode === 'none' && !loopback) throw new ConfigError('ADMIN_AUTH', '"none" is allowed only on a loopback ADMIN_BIND_HOST');
  const cookieSecure = env.ADMIN_COOKIE_SECURE?.trim() || '0';
  if (cookieSecure !== '0' && cookieSecure !== '1') throw new ConfigError('ADMIN_COOKIE_SECURE', 'must be 0 or 1');
  return {
    host,
    port: integer(env, 'ADMIN_PORT', 3003, 0, 65535),
    allowedHosts: parseAllowedHosts(env.ADMIN_ALLOWED_HOSTS),
    jwtSecret,
    authMode: mode,
    dbPath: adminDbPath(env),
    cookieSecure: cookieSecure === '1',
    accessTtlSeconds: integer(env, 'ADMIN_ACCESS_TTL_SECONDS', 900, 1, 900),
    sessionHours: integer(env, 'ADMIN_SESSION_HOURS', 12, 1, 24 * 30),
    refreshGraceSeconds: integer(env, 'ADMIN_REFRESH_GRACE_SECONDS', 10, 0, 60),
    loginMaxFailures: integer(env, 'ADMIN_LOGIN_MAX_FAILURES', 5, 1, 100),
    lockoutSeconds: integer(env, 'ADMIN_LOCKOUT_SECONDS', 900, 1, 86_400),
    trustedProxies: parseTrustedProxies(env.ADMIN_TRUSTED_PROXIES),
    engineUrl: engineUrl(env),
    signingSecret: readSecret(serviceSecretVar(SERVICE_ID), env, 32),
    configPath: fromRoot(env.AI_AGENT_CONFIG?.trim() || 'config/ai-agent.yaml'),
    envFilePath: fromRoot(env.ADMIN_ENV_FILE?.trim() || '.env'),
    eventsPollMs: integer(env, 'ADMIN_EVENTS_POLL_MS', 1000, 100, 60_000),
    webRoot: fromRoot('admin-ui/dist/web'),
  };
}

/** The Host values a browser on this machine sends: localhost, 127.0.0.1 and [::1], each with the port. */
export function defaultAllowedHosts(port: number): string[] {
  return ['localhost', '127.0.0.1', '[::1]'].map((h) => `${h}:${port}`);
}
