import { readFileSync } from 'node:fs';
import { registerSecret } from '../log/scrubber.ts';
import { ConfigError } from './errors.ts';

/**
 * Reads a secret from env `NAME`, or from the file named by `NAME_FILE` (Docker/Kubernetes secrets). Setting
 * both is an error. Whatever is read is registered with the scrubber before it is returned.
 */
export function readSecret(name: string, env: NodeJS.ProcessEnv = process.env, minLength = 0): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct && file) throw new ConfigError(name, `set either ${name} or ${name}_FILE, not both`);
  let value: string | undefined = direct;
  if (file) {
    try {
      value = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE`, `cannot read the file it names (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (!value) return undefined;
  registerSecret(value);
  if (value.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters`);
  return value;
}
