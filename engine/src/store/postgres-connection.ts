import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError, isLoopbackHost, registerSecret } from '@ai-agent/common';
import type { ClientConfig } from 'pg';

// DATABASE_URL → the connection settings handed to `pg`, decided here and nowhere else: the URL is parsed by us
// (not by pg's own parser) so that what is checked — TLS, the host — is exactly what is used.

const KEY = 'DATABASE_URL';

/** libpq's sslmode values this store implements; `allow` and `prefer` (TLS only if offered) are refused. */
export type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface PostgresTarget {
  /** For pg's Client/Pool: host, port, database, user, password, TLS. */
  connection: ClientConfig;
  tls: TlsMode;
  /** host:port/database (or socket path), for logs: never the user or the password. */
  description: string;
  /** Plain TCP to a host other than loopback (only with store.postgres_allow_plaintext). */
  plaintextRemote: boolean;
}

/** Query parameters (libpq's names) understood in DATABASE_URL; any other is refused rather than ignored. */
const PARAMETERS = new Set(['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'host', 'port', 'application_name', 'connect_timeout', 'options']);

const fail = (reason: string): never => {
  throw new ConfigError(KEY, reason);
};

/** A URL part as written (percent-encoded); a stray `%` is refused rather than thrown as a URIError. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return fail('the user, password and database must be percent-encoded (a literal % is %25)');
  }
}

function readPem(parameter: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return fail(`${parameter}: cannot read the file it names (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

function tlsMode(value: string | null): TlsMode {
  if (value === null || value === 'disable') return 'disable';
  if (value === 'require' || value === 'verify-ca' || value === 'verify-full') return value;
  if (value === 'allow' || value === 'prefer') return fail(`sslmode=${value} may fall back to plain text; use require, verify-ca or verify-full (or disable on loopback)`);
  return fail('sslmode must be disable, require, verify-ca or verify-full');
}

/** Node TLS options with libpq's meaning of each mode (require with a root certificate verifies like verify-ca). */
function tlsOptions(mode: TlsMode, params: URLSearchParams, host: string): ConnectionOptions | false {
  if (mode === 'disable') {
    if (params.has('sslrootcert') || params.has('sslcert') || params.has('sslkey')) fail('sslrootcert/sslcert/sslkey need an sslmode other than disable');
    return false;
  }
  const options: ConnectionOptions = {};
  const rootCert = params.get('sslrootcert');
  if (rootCert) options.ca = readPem('sslrootcert', rootCert);
  const cert = params.get('sslcert');
  const key = params.get('sslkey');
  if (Boolean(cert) !== Boolean(key)) fail('sslcert and sslkey go together');
  if (cert && key) {
    options.cert = readPem('sslcert', cert);
    options.key = readPem('sslkey', key);
  }
  const effective = mode === 'require' && rootCert ? 'verify-ca' : mode;
  if (effective === 'require') options.rejectUnauthorized = false;
  else {
    options.rejectUnauthorized = true;
    if (effective === 'verify-ca') options.checkServerIdentity = () => undefined;
    // SNI carries a name, never an address.
    else if (isIP(host) === 0) options.servername = host;
  }
  return options;
}

/**
 * Parses a `postgres://` / `postgresql://` URL. Refuses, naming DATABASE_URL (never its value): other schemes,
 * unknown parameters, and plain TCP to a non-loopback host unless `allowPlaintext` (store.postgres_allow_plaintext).
 * A Unix socket (`?host=/run/postgresql`) never leaves the machine and needs no TLS.
 */
export function postgresTarget(url: string, options: { allowPlaintext: boolean }): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail('not a URL (postgresql://user:password@host:5432/database?sslmode=verify-full)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') fail('must be a postgresql:// URL');
  for (const name of parsed.searchParams.keys()) {
    if (!PARAMETERS.has(name)) fail(`unsupported parameter "${name}" (supported: ${[...PARAMETERS].join(', ')})`);
  }
  const params = parsed.searchParams;
  const password = decoded(parsed.password);
  // Logged anywhere (a driver error quoting it), it is masked like the whole URL readSecret registered.
  if (password) registerSecret(password);
  const host = params.get('host') ?? (parsed.hostname.replace(/^\[|\]$/g, '') || 'localhost');
  const socket = host.startsWith('/');
  const portText = params.get('port') ?? (parsed.port || '5432');
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail('port must be 1-65535');
  const database = decoded(parsed.pathname.replace(/^\//, ''));
  const user = decoded(parsed.username);
  const tls = tlsMode(params.get('sslmode'));
  if (socket && tls !== 'disable') fail('a Unix socket host takes no sslmode');
  const plaintextRemote = tls === 'disable' && !socket && !isLoopbackHost(host);
  if (plaintextRemote && !options.allowPlaintext) {
    fail('connects without TLS to a host other than loopback; add sslmode=verify-full (with sslrootcert for a private CA), ' +
      'or set store.postgres_allow_plaintext: true on a trusted private network');
  }
  const connectTimeout = params.get('connect_timeout');
  const connectSeconds = connectTimeout === null ? undefined : Number(connectTimeout);
  if (connectSeconds !== undefined && !(Number.isInteger(connectSeconds) && connectSeconds >= 1 && connectSeconds <= 300)) {
    fail('connect_timeout must be 1-300 (seconds)');
  }
  const connection: ClientConfig = {
    host,
    port,
    ...(database ? { database } : {}),
    ...(user ? { user } : {}),
    ...(password ? { password } : {}),
    ssl: tlsOptions(tls, params, host),
    ...(params.get('application_name') ? { application_name: params.get('application_name')! } : {}),
    ...(params.get('options') ? { options: params.get('options')! } : {}),
    ...(connectSeconds ? { connectionTimeoutMillis: connectSeconds * 1000 } : {}),
  };
  const where = socket ? `${host} (socket)` : `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { connection, tls, description: `${where}/${database || user || '(default)'}`, plaintextRemote };
}
