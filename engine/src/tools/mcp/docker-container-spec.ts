import type { McpStdioServerConfig } from '@ai-agent/common';

/** The label every MCP container of this engine carries; its value is `mcp.docker.engine_name`. */
export const ENGINE_LABEL = 'io.ai-agent.mcp-engine';
const SERVER_LABEL = 'io.ai-agent.mcp-server';
const MIB = 1024 * 1024;

/**
 * The Docker Engine API's create body for one stdio MCP server: its command as the entrypoint of `image`, as a
 * non-root user, without network unless allowed, a read-only root with a size-capped tmpfs at /tmp as the only
 * writable place, memory (no swap), CPU, process and rlimit ceilings, no capabilities, no-new-privileges, no log
 * kept by Docker (stderr comes over the attached streams), removed once it stops.
 */
export function containerSpec(id: string, config: McpStdioServerConfig, env: Readonly<Record<string, string>>, engineName: string): Record<string, unknown> {
  const sandbox = config.sandbox;
  const memory = sandbox.memory_mb * MIB;
  return {
    Image: sandbox.image,
    Entrypoint: [config.command],
    Cmd: config.args,
    // Only what is configured (Docker itself adds HOSTNAME, and PATH when the image sets none).
    Env: Object.entries({ HOME: '/tmp', TMPDIR: '/tmp', ...env }).map(([name, value]) => `${name}=${value}`),
    User: `${sandbox.uid}:${sandbox.gid}`,
    WorkingDir: '/tmp',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    // stdin closes when the engine's attachment does: a server outliving its engine reads EOF.
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: !sandbox.network,
    Labels: { [ENGINE_LABEL]: engineName, [SERVER_LABEL]: id },
    HostConfig: {
      NetworkMode: sandbox.network ? 'bridge' : 'none',
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${sandbox.tmp_mb}m,mode=1777` },
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: Math.round(sandbox.cpus * 1e9),
      PidsLimit: sandbox.processes,
      Ulimits: [
        { Name: 'cpu', Soft: sandbox.cpu_seconds, Hard: sandbox.cpu_seconds },
        { Name: 'nofile', Soft: sandbox.open_files, Hard: sandbox.open_files },
      ],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      IpcMode: 'private',
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: true,
    },
  };
}

/** What the container applies, for the log and `/mcp/test` (the process sandbox's `applied`, in its words). */
export function containerApplied(config: McpStdioServerConfig): string[] {
  const sandbox = config.sandbox;
  return [
    `container of ${sandbox.image}`,
    sandbox.network ? 'network (bridge)' : 'no network',
    `uid ${sandbox.uid} gid ${sandbox.gid}`,
    'no capabilities',
    'no-new-privs',
    'read-only root',
    `tmpfs /tmp ${sandbox.tmp_mb} MiB`,
    `memory ${sandbox.memory_mb} MiB`,
    `cpus ${sandbox.cpus}`,
    `cpu ${sandbox.cpu_seconds} s`,
    `files ${sandbox.open_files}`,
    `processes ${sandbox.processes}`,
  ];
}
