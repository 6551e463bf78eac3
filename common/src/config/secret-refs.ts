// `${env:NAME}`: a secret a config value takes from the environment when it is used, never stored in the
// config, shown or logged (an HTTP tool's Authorization header). Config interpolation leaves these in place;
// the service that sends the value reads NAME (or NAME_FILE) through readSecret, which registers it for
// redaction, and refuses to start when it is missing.
import { ConfigError } from './errors.ts';
import { readSecret } from './secrets.ts';

const SECRET_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The env var names a value references with `${env:NAME}`. */
export function secretReferences(value: string): string[] {
  return [...value.matchAll(SECRET_REF)].map((m) => m[1]!);
}

/** `value` with its secret references taken out (what is left must follow the ordinary rules). */
export function withoutSecretReferences(value: string): string {
  return value.replace(SECRET_REF, '');
}

/**
 * Replaces every `${env:NAME}` in `value` with the secret read from the environment (registered for redaction
 * by readSecret); also returns the secrets read. A missing secret is a ConfigError naming `key` and the variable.
 */
export function fillSecretReferences(value: string, key: string, env: NodeJS.ProcessEnv = process.env): { value: string; secrets: string[] } {
  const secrets: string[] = [];
  const filled = value.replace(SECRET_REF, (_match, name: string) => {
    const secret = readSecret(name, env);
    if (secret === undefined) throw new ConfigError(key, `environment variable ${name} (or ${name}_FILE) is not set`);
    secrets.push(secret);
    return secret;
  });
  return { value: filled, secrets };
}
