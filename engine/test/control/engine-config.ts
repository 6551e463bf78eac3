// Engine config files for process tests: the repository's default config with test overrides (a private
// call-store path above all), written to a temp dir. JSON is YAML, so the tree is written as JSON.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';

type Tree = Record<string, unknown>;

function merge(base: Tree, overrides: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const current = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && current && typeof current === 'object' ? merge(current as Tree, v as Tree) : v;
  }
  return out;
}

export interface TestConfig {
  dir: string;
  /** The config file (named ai-agent.yaml like the real one). */
  file: string;
  storePath: string;
  /** Rewrites the file with other overrides (the store path stays). */
  write(overrides?: Tree): void;
  /** Env for startService: AI_AGENT_CONFIG pointing at the file. */
  env: Record<string, string>;
  remove(): void;
}

export function testConfig(overrides: Tree = {}): TestConfig {
  const dir = mkdtempSync(join(tmpdir(), 'engine-config-'));
  const file = join(dir, 'ai-agent.yaml');
  const storePath = join(dir, 'data', 'calls.sqlite');
  const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), 'utf8')) as Tree;
  const write = (more: Tree = {}): void => {
    // Private store, and OS-chosen media ports so engine processes of parallel test files never collide.
    const isolation = { store: { path: storePath }, media: { audiosocket: { port: 0 }, websocket: { port: 0 }, rtp: { port_min: 0, port_max: 0 } } };
    writeFileSync(file, JSON.stringify(merge(merge(defaults, isolation), more), null, 2));
  };
  write(overrides);
  return { dir, file, storePath, write, env: { AI_AGENT_CONFIG: file }, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
