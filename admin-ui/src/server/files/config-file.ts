import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, engineConfigSchema, parseYaml, validateConfig, type EngineConfig } from '@ai-agent/common';
import { replaceWithBackup } from './atomic-file.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Sections the admin UI may not change: `mcp` names the commands the engine runs (stdio servers, their sandbox,
 * the Docker socket), and those come only from the file as the operator wrote it on disk.
 */
export const DISK_ONLY_SECTIONS = ['mcp'] as const;

/** Dotted key paths whose values differ (a leaf is a scalar or a list); names only, never values. */
export function changedKeys(before: unknown, after: unknown, prefix = ''): string[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => changedKeys(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  return isDeepStrictEqual(before, after) ? [] : [prefix || '(root)'];
}

/**
 * The engine's YAML config file, as the admin UI edits it: validated with the engine's own schema (from
 * common) against this process's environment before anything is written.
 */
export class ConfigFile {
  constructor(readonly path: string, private readonly env: NodeJS.ProcessEnv) {}

  read(): string {
    return readFileSync(this.path, 'utf8');
  }

  /** Throws ConfigError naming the key. */
  validate(yaml: string): EngineConfig {
    return validateConfig(parseYaml(yaml), engineConfigSchema, this.env);
  }

  /** Keys a save of `yaml` would change, compared with the file on disk (all of them when that one is invalid). */
  diff(next: EngineConfig): string[] {
    let current: EngineConfig | Record<string, never> = {};
    try {
      current = this.validate(this.read());
    } catch (err) {
      if (!(err instanceof ConfigError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return changedKeys(current, next);
  }

  /**
   * The first key under a disk-only section that `yaml` would change, compared as written (not with defaults
   * filled in), so a file that is invalid on disk can still be fixed elsewhere. Null when there is none.
   */
  diskOnlyChange(yaml: string): string | null {
    let current: unknown = {};
    try {
      current = parseYaml(this.read());
    } catch (err) {
      if (!(err instanceof ConfigError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const next = parseYaml(yaml);
    const section = (tree: unknown, key: string): unknown => (isObject(tree) ? tree[key] : undefined);
    for (const key of DISK_ONLY_SECTIONS) {
      const [first] = changedKeys(section(current, key), section(next, key), key);
      if (first) return first;
    }
    return null;
  }

  /** Writes atomically; returns the backup of the previous content. */
  write(yaml: string): string | undefined {
    return replaceWithBackup(this.path, yaml, 0o644);
  }
}
