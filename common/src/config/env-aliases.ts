import { isIP } from 'node:net';
import { ConfigError } from './errors.ts';

/** One line for the operator about an alias that was read (info) or overruled (warn). Never carries a secret. */
export interface EnvNotice {
  level: 'info' | 'warn';
  message: string;
}

/**
 * Names an operator coming from the best-known Asterisk AI engine (Asterisk-AI-Voice-Agent) already has in
 * their .env, mapped to this product's own. That engine builds its ARI URL from ASTERISK_ARI_SCHEME (http),
 * ASTERISK_HOST (127.0.0.1) and ASTERISK_ARI_PORT (8088).
 */
const PLAIN_ALIASES: ReadonlyArray<{ alias: string; name: string; secret: boolean }> = [
  { alias: 'ASTERISK_ARI_USERNAME', name: 'ARI_USERNAME', secret: false },
  { alias: 'ASTERISK_ARI_PASSWORD', name: 'ARI_PASSWORD', secret: true },
];
const URL_PARTS = ['ASTERISK_ARI_SCHEME', 'ASTERISK_HOST', 'ASTERISK_ARI_PORT'] as const;

const set = (env: NodeJS.ProcessEnv, name: string): string | undefined => env[name]?.trim() || undefined;

/**
 * Reads the aliases into the product's names in `env` (before config and secrets are loaded), and returns one
 * notice per alias seen. The product's own name always wins: an alias that differs from it is ignored with a
 * warning. A malformed alias is a ConfigError naming it, like any bad setting.
 */
export function applyEnvAliases(env: NodeJS.ProcessEnv = process.env): EnvNotice[] {
  const notices: EnvNotice[] = [];
  for (const { alias, name, secret } of PLAIN_ALIASES) {
    const value = set(env, alias);
    if (value === undefined) continue;
    notices.push(adopt(env, alias, name, value, secret));
  }
  if (URL_PARTS.some((part) => set(env, part) !== undefined)) {
    const aliases = URL_PARTS.filter((part) => set(env, part) !== undefined).join(' + ');
    notices.push(adopt(env, aliases, 'ARI_URL', ariUrlFromParts(env), false));
  }
  return notices;
}

function adopt(env: NodeJS.ProcessEnv, alias: string, name: string, value: string, secret: boolean): EnvNotice {
  // A secret given as NAME_FILE is the product's own setting too; its content is not compared here.
  const own = set(env, name) ?? (secret && set(env, `${name}_FILE`) ? `${name}_FILE` : undefined);
  if (own === undefined) {
    env[name] = value;
    return { level: 'info', message: `${alias} is read as ${name} (this product's name for it)` };
  }
  if (own === `${name}_FILE`) {
    return { level: 'warn', message: `${alias} is ignored: ${name}_FILE is set, and the product's own setting wins` };
  }
  if (same(name, own, value)) {
    return { level: 'info', message: `${alias} is set as well as ${name}, with the same value: ${name} is used` };
  }
  const shown = secret ? '' : ` (${name}=${own}, ${alias} gives ${value})`;
  return { level: 'warn', message: `${alias} and ${name} are both set and differ${shown}: ${name} wins` };
}

function same(name: string, a: string, b: string): boolean {
  if (name !== 'ARI_URL') return a === b;
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return a === b;
  }
}

function ariUrlFromParts(env: NodeJS.ProcessEnv): string {
  const scheme = (set(env, 'ASTERISK_ARI_SCHEME') ?? 'http').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new ConfigError('ASTERISK_ARI_SCHEME', 'must be http or https');
  const host = set(env, 'ASTERISK_HOST') ?? '127.0.0.1';
  if (!/^[A-Za-z0-9.:_-]+$/.test(host) || (host.includes(':') && isIP(host) !== 6)) {
    throw new ConfigError('ASTERISK_HOST', 'must be a host name or an IP address (no scheme, port or path)');
  }
  const portText = set(env, 'ASTERISK_ARI_PORT') ?? '8088';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new ConfigError('ASTERISK_ARI_PORT', 'must be a port number (1-65535)');
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
