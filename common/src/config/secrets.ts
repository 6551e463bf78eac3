import { readFileSync } from 'node:fs';
import { registerSecret } from '../log/scrubber.ts';
import { ConfigError } from './errors.ts';

/**
 * Minimum lengths of the product's own secrets, applied wherever they are read (so every service enforces
 * the same floor, on loopback too). Vendor keys and passwords set by others (ARI) have none.
 */
const MIN_LENGTH: ReadonlyArray<[RegExp, number]> = [
  [/^(HEALTH_API_TOKEN|LOCAL_WS_AUTH_TOKEN)$/, 16],
  [/^(JWT_SECRET|SERVICE_SECRET_[A-Z0-9_]+)$/, 32],
];

export function secretMinLength(name: string): number {
  return MIN_LENGTH.find(([pattern]) => pattern.test(name))?.[1] ?? 0;
}

/**
 * Reads a secret from env `NAME`, or from the file named by `NAME_FILE` (Docker/Kubernetes secrets). Setting
 * both is an error; so is a named file that is empty (an operator who names a file means to set the secret,
 * and reading it as unset would silently turn authentication off). Whatever is read is registered with the
 * scrubber before it is returned; a value shorter than its minimum is refused, naming the variable.
 */
export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env, minLength = 0): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
  let value: string | undefined = direct?.trim();
  if (file) {
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE`, `cannot read the file it names (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!value) throw new ConfigError(`${name}_FILE`, 'the file it names is empty');
  }
  if (!value) return undefined;
  registerSecret(value);
  const min = Math.max(minLength, secretMinLength(name));
  if (value.length < min) throw new ConfigError(name, `must be at least ${min} characters`);
  return value;
}
