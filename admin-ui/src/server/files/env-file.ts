import { existsSync, readFileSync } from 'node:fs';
import { registerSecret } from '@ai-agent/common';
import { replaceWithBackup } from './atomic-file.ts';

/** The product's secrets an operator may set from the UI: write-only, never read back. */
export const SECRET_NAMES = ['OPENAI_API_KEY', 'DEEPGRAM_API_KEY', 'ARI_PASSWORD', 'HEALTH_API_TOKEN', 'LOCAL_WS_AUTH_TOKEN'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export function isSecretName(name: string): name is SecretName {
  return (SECRET_NAMES as readonly string[]).includes(name);
}

/**
 * Printable ASCII without quotes, backslashes or spaces: what API keys and passwords are made of, and what
 * goes inside double quotes in a .env line without any escaping (Node's loadEnvFile reads it back as is).
 */
const VALUE = /^[\x21\x23-\x26\x28-\x5b\x5d-\x5f\x61-\x7e]{1,4096}$/;

export function secretValueProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || !VALUE.test(value)) {
    return 'must be 1 to 4096 printable characters without spaces, quotes or backslashes';
  }
  return undefined;
}

const line = (name: string): RegExp => new RegExp(`^\\s*(export\\s+)?${name}\\s*=(.*)$`);

/**
 * The `.env` file the services read at start (scripts/start.mjs). Reports whether each secret is set — in the
 * file, or in this process's environment (directly or as NAME_FILE) — and replaces one line at a time,
 * atomically, keeping a backup. Values are registered with the scrubber so no log can echo them.
 */
export class EnvFile {
  constructor(readonly path: string, private readonly env: NodeJS.ProcessEnv) {}

  private lines(): string[] {
    return existsSync(this.path) ? readFileSync(this.path, 'utf8').split('\n') : [];
  }

  status(): Array<{ name: SecretName; set: boolean }> {
    const lines = this.lines();
    return SECRET_NAMES.map((name) => {
      const inFile = lines.some((l) => {
        const m = line(name).exec(l);
        return m !== null && m[2]!.trim().replace(/^["'`]|["'`]$/g, '') !== '';
      });
      return { name, set: inFile || Boolean(this.env[name]?.trim() || this.env[`${name}_FILE`]?.trim()) };
    });
  }

  /** Returns the backup path of the previous file, if there was one. */
  set(name: SecretName, value: string): string | undefined {
    registerSecret(value);
    const lines = this.lines();
    const entry = `${name}="${value}"`;
    const at = lines.findIndex((l) => line(name).test(l));
    if (at >= 0) lines[at] = entry;
    else {
      if (lines.length > 0 && lines.at(-1) === '') lines.pop();
      lines.push(entry, '');
    }
    return replaceWithBackup(this.path, lines.join('\n'), 0o600);
  }
}
