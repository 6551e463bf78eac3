import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { McpSandboxConfig } from '@ai-agent/common';

/** The util-linux programs the sandbox wraps a server's command in; each is used only where it exists. */
const TOOLS = { unshare: '/usr/bin/unshare', setpriv: '/usr/bin/setpriv', prlimit: '/usr/bin/prlimit' } as const;

/** What this host can do for a sandbox, probed once. */
export interface SandboxAbilities {
  root: boolean;
  /** A private network namespace: `unshare --net` as root, or inside a user namespace otherwise. */
  netns: 'root' | 'user' | null;
  setpriv: boolean;
  prlimit: boolean;
}

let probed: SandboxAbilities | undefined;

function works(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore', timeout: 5000, env: {} }).status === 0;
}

export function sandboxAbilities(): SandboxAbilities {
  if (probed) return probed;
  const root = process.getuid?.() === 0;
  const hasUnshare = existsSync(TOOLS.unshare);
  // Containers often forbid new namespaces even to root: tried, not assumed.
  let netns: SandboxAbilities['netns'] = null;
  if (hasUnshare && root && works(TOOLS.unshare, ['--net', '--', '/bin/true'])) netns = 'root';
  else if (hasUnshare && works(TOOLS.unshare, ['--user', '--net', '--', '/bin/true'])) netns = 'user';
  probed = { root, netns, setpriv: existsSync(TOOLS.setpriv), prlimit: existsSync(TOOLS.prlimit) };
  return probed;
}

/** How one server is started: the argv that wraps its command, and what of the sandbox applies here. */
export interface SandboxPlan {
  command: string;
  args: string[];
  /** What is in force, for the log and `/mcp/test` (e.g. `uid 65534`, `no network`). */
  applied: string[];
  /** What was asked for but this host cannot do. */
  missing: string[];
}

/**
 * Wraps `command args` in the sandbox: a private network namespace (unless `network`), then (as root) another
 * uid/gid with no supplementary groups, no capabilities and no-new-privs, then rlimits; each program execs the
 * next, so the server ends up as the one process the engine spawned (and kills as a process group).
 */
export function sandboxPlan(command: string, args: readonly string[], config: McpSandboxConfig, abilities = sandboxAbilities()): SandboxPlan {
  const argv: string[] = [];
  const applied: string[] = [];
  const missing: string[] = [];
  if (!config.network) {
    if (abilities.netns === 'root') argv.push(TOOLS.unshare, '--net', '--');
    else if (abilities.netns === 'user') argv.push(TOOLS.unshare, '--user', '--net', '--');
    if (abilities.netns) applied.push('no network');
    else missing.push('network isolation (unshare --net is not available)');
  }
  if (abilities.setpriv) {
    const ids = abilities.root ? [`--reuid=${config.uid}`, `--regid=${config.gid}`, '--clear-groups'] : [];
    const caps = abilities.root ? ['--inh-caps=-all', '--bounding-set=-all'] : [];
    // --pdeathsig: the server dies with the engine, even one killed with SIGKILL (no orphan left running).
    argv.push(TOOLS.setpriv, ...ids, '--no-new-privs', ...caps, '--pdeathsig=SIGKILL', '--');
    applied.push(abilities.root ? `uid ${config.uid} gid ${config.gid}` : 'no-new-privs', ...(abilities.root ? ['no-new-privs', 'no capabilities'] : []), 'dies with the engine');
    if (!abilities.root) missing.push('another uid (the engine does not run as root: the server runs as the engine\'s user)');
  } else {
    missing.push('uid change and no-new-privs (setpriv not found)');
  }
  if (abilities.prlimit) {
    argv.push(
      TOOLS.prlimit,
      `--cpu=${config.cpu_seconds}`,
      // RLIMIT_DATA, not RLIMIT_AS: it counts the memory a process writes (heap, buffers), not the address space
      // V8 and WebAssembly reserve without using, so Node servers start under it and still cannot grow past it.
      `--data=${config.memory_mb * 1024 * 1024}`,
      `--nofile=${config.open_files}`,
      `--nproc=${config.processes}`,
      '--',
    );
    applied.push(`cpu ${config.cpu_seconds} s`, `memory ${config.memory_mb} MiB`, `files ${config.open_files}`, `processes ${config.processes}`);
  } else {
    missing.push('rlimits (prlimit not found)');
  }
  const [first, ...rest] = [...argv, command, ...args];
  return { command: first!, args: rest, applied, missing };
}
