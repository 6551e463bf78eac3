import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  engineConfigSchema,
  loadAllowedCallers,
  loadYamlConfig,
  readSecret,
  type EngineConfig,
} from '@ai-agent/common';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Secrets the engine reads from env (or *_FILE) only. */
export interface EngineSecrets {
  ariPassword: string | undefined;
  healthApiToken: string | undefined;
  /** Services allowed to sign control requests, with their secrets. */
  callers: Map<string, string>;
  /** The call database's connection URL (store.backend: postgres); it carries the database password. */
  databaseUrl: string | undefined;
}

/** A path from the config as the engine opens it: absolute as given, relative from the repository root. */
export function fromRepoRoot(path: string): string {
  return resolve(REPO_ROOT, path);
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO_ROOT, env.AI_AGENT_CONFIG || 'config/ai-agent.yaml');
}

export function loadEngineConfig(env: NodeJS.ProcessEnv = process.env): EngineConfig {
  return loadYamlConfig(configPath(env), engineConfigSchema, env);
}

export function loadEngineSecrets(env: NodeJS.ProcessEnv = process.env): EngineSecrets {
  return {
    ariPassword: readSecret('ARI_PASSWORD', env),
    healthApiToken: readSecret('HEALTH_API_TOKEN', env, 16),
    callers: loadAllowedCallers(env, ['admin-ui']),
    databaseUrl: readSecret('DATABASE_URL', env),
  };
}

/**
 * Demo mode: `npm start` found no Asterisk configured and points the engine at the built-in test Asterisk
 * (AI_AGENT_DEMO=1, set by the start script only). The engine then says so in /health.
 */
export function isDemoMode(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.AI_AGENT_DEMO === '1';
}

/** Top-level keys whose values differ between two configs. */
export function changedKeys(a: EngineConfig, b: EngineConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof EngineConfig>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}
