import { ConfigError } from './errors.ts';
import { withoutSecretReferences } from './secret-refs.ts';

// `${env:NAME}` (a secret reference, see secret-refs.ts) is matched first and left as it is.
const PLACEHOLDER = /\$\$\{|\$\{env:[A-Za-z_][A-Za-z0-9_]*\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE_PLACEHOLDER = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;
/**
 * Env names of secrets: a secret word as a whole `_`-separated part (HEALTH_API_TOKEN, SERVICE_SECRET_X,
 * ARI_PASSWORD), not inside another word (SHERPA_STT_TOKENS is a file of model tokens).
 */
const SECRET_VARIABLE = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)(_|$)/i;

/** True for an env var name that holds a secret. */
export function isSecretVariable(name: string): boolean {
  return SECRET_VARIABLE.test(name);
}

function interpolateString(value: string, key: string, env: NodeJS.ProcessEnv): string | number | boolean {
  if (value.includes('${') && /\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})/.test(withoutSecretReferences(value.replace(/\$\$\{/g, '')))) {
    throw new ConfigError(key, 'malformed ${…} placeholder (use ${VAR} or ${VAR:-default})');
  }
  const out = value.replace(PLACEHOLDER, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined) return match;
    // A secret pulled into an ordinary value (a greeting, a URL) would be spoken, logged or shown: the services
    // read their secrets from the environment themselves, and no config key may carry one.
    if (isSecretVariable(name!)) {
      throw new ConfigError(key, `\${${name}} is a secret variable; secrets cannot be interpolated into the config`);
    }
    const found = env[name!];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    throw new ConfigError(key, `environment variable ${name} is not set and has no default`);
  });
  // A value that is exactly one placeholder takes the type its text has, so `port: ${PORT:-15000}` is a number.
  if (WHOLE_PLACEHOLDER.test(value)) {
    if (/^-?\d+(\.\d+)?$/.test(out)) return Number(out);
    if (out === 'true' || out === 'false') return out === 'true';
  }
  return out;
}

/** Replaces `${VAR}` / `${VAR:-default}` in every string of a parsed YAML tree; `$${` escapes a literal. */
export function interpolate(node: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof node === 'string') return interpolateString(node, path.join('.') || '(root)', env);
  if (Array.isArray(node)) return node.map((item, i) => interpolate(item, env, [...path, String(i)]));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = interpolate(v, env, [...path, k]);
    return out;
  }
  return node;
}
