import { z } from 'zod';

// `mcp:` — Model Context Protocol servers whose tools the model may call, and a context's `mcp_tools:`
// allowlist. A stdio server is a command from this file only (never from an API or a model) and runs in a
// sandbox; an HTTP server is reached through the egress allowlist like an HTTP tool.

/** Server ids become the first half of the tool names the model sees (`<server>__<tool>`). */
export const MCP_SERVER_ID = /^[A-Za-z0-9-]{1,32}$/;
/** The separator between server id and tool name in what the model sees. */
export const MCP_TOOL_SEPARATOR = '__';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name');
const ms = (fallback: number, min: number, max: number) => z.number().int().min(min).max(max).default(fallback);

/** A Docker image reference (`name[:tag][@digest]`, registry host included): never pulled, it must be there. */
const imageRef = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._\/:@+-]{0,254}$/, 'a Docker image reference, e.g. mcp/crm:1.2');

const sandboxSchema = z
  .object({
    /**
     * `process`: a restricted child process (util-linux); `docker`: a container through the Docker engine (see
     * `mcp.docker`), its `command` and `args` run in `image`.
     */
    type: z.enum(['process', 'docker']).default('process'),
    /** docker: the image the server runs in (already on the Docker host: the engine never pulls). */
    image: imageRef.optional(),
    /** docker: CPUs the container may use (fractions allowed). */
    cpus: z.number().min(0.01).max(64).default(1),
    /** docker: size of the tmpfs at /tmp, the only place the server may write. */
    tmp_mb: z.number().int().min(1).max(4096).default(64),
    /** Run as this user and group: a container always; a process when the engine runs as root (default: nobody). */
    uid: z.number().int().min(1).max(4_294_967_294).default(65534),
    gid: z.number().int().min(1).max(4_294_967_294).default(65534),
    /** CPU time the server may use in total before the kernel stops it (RLIMIT_CPU). */
    cpu_seconds: z.number().int().min(1).max(86_400).default(60),
    /** Writable memory: heap, buffers, private mappings (RLIMIT_DATA). */
    memory_mb: z.number().int().min(64).max(65_536).default(1024),
    /** Open files (RLIMIT_NOFILE). */
    open_files: z.number().int().min(16).max(65_536).default(256),
    /** Processes and threads of the sandbox user (RLIMIT_NPROC). */
    processes: z.number().int().min(1).max(4096).default(64),
    /** Network access; off unless set (process: a network namespace with no interface up; docker: network none). */
    network: z.boolean().default(false),
  })
  .strict()
  .superRefine((sandbox, issues) => {
    if (sandbox.type === 'docker' && !sandbox.image) issues.addIssue({ code: 'custom', path: ['image'], message: 'required with type: docker' });
    if (sandbox.type === 'process' && sandbox.image) issues.addIssue({ code: 'custom', path: ['image'], message: 'only with type: docker' });
  })
  .prefault({});

/** `mcp.docker`: where the Docker engine is, for servers with `sandbox.type: docker`. */
const dockerSchema = z
  .object({
    /** The Docker engine's API socket (a rootless one is best: see SECURITY.md, "MCP servers"). */
    socket: z.string().min(2).max(107).refine((p) => p.startsWith('/'), 'must be an absolute path').default('/var/run/docker.sock'),
    /**
     * Labels this engine's containers; at start, containers with this label left by an earlier run are removed.
     * Engines sharing one Docker engine need different names.
     */
    engine_name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (max 64)').default('ai-agent'),
  })
  .strict()
  .prefault({});

const common = {
  /**
   * A tool call that takes longer is abandoned (and cancelled). A stdio server that then does not answer a ping
   * (stuck) is stopped and started again on next use; one that answers keeps serving the other calls.
   */
  timeout_ms: ms(10_000, 100, 300_000),
  /** Starting (and for stdio, spawning) the server and listing its tools. */
  connect_timeout_ms: ms(10_000, 100, 120_000),
  /** After this long without an answer the caller hears `filler` instead of dead air (0: never). */
  filler_after_ms: ms(1500, 0, 60_000),
  filler: z.string().min(1).max(200).default('One moment while I check.'),
  /** How much of a tool's answer the model reads. */
  max_result_chars: z.number().int().min(100).max(100_000).default(4000),
};

const stdioServerSchema = z
  .object({
    transport: z.literal('stdio'),
    /** An absolute path: the sandbox has no PATH to look a name up in. */
    command: z.string().min(1).max(1000).refine((c) => c.startsWith('/'), 'must be an absolute path'),
    args: z.array(z.string().max(4000)).max(64).default([]),
    /**
     * The server's whole environment (nothing of the engine's is inherited). A value may take a secret from
     * the engine's environment as `${env:NAME}`; it is then masked in logs.
     */
    env: z.record(envName, z.string().max(4000)).default({}),
    sandbox: sandboxSchema,
    ...common,
  })
  .strict();

const httpServerSchema = z
  .object({
    transport: z.literal('http'),
    /** Streamable HTTP endpoint; must pass `egress.allow` (https unless the rule allows http). */
    url: z.string().url(),
    /** Sent with every request; secrets only as `${env:NAME}`. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name'), z.string().max(4000)).default({}),
    ...common,
  })
  .strict();

export const mcpServerSchema = z.discriminatedUnion('transport', [stdioServerSchema, httpServerSchema]);

export const mcpConfigSchema = z
  .object({
    servers: z
      .record(z.string(), mcpServerSchema)
      .superRefine((servers, issues) => {
        // Checked here rather than as the record's key schema, whose error would not say what a name may hold.
        for (const id of Object.keys(servers)) {
          if (!MCP_SERVER_ID.test(id)) issues.addIssue({ code: 'custom', path: [id], message: 'a server name is 1-32 letters, digits and - (the model sees <server>__<tool>)' });
        }
      })
      .default({}),
    docker: dockerSchema,
  })
  .strict()
  .prefault({});

/** A context's allowlist entry: `<server>__<tool>`, or `<server>__*` for all of that server's tools. */
export const mcpToolsSchema = z
  .array(z.string().regex(/^[A-Za-z0-9-]{1,32}__(\*|[A-Za-z0-9_.-]{1,64})$/, '<server>__<tool> or <server>__*'))
  .max(256)
  .default([]);

export type McpConfig = z.infer<typeof mcpConfigSchema>;
export type McpServerConfig = z.infer<typeof mcpServerSchema>;
export type McpStdioServerConfig = z.infer<typeof stdioServerSchema>;
export type McpHttpServerConfig = z.infer<typeof httpServerSchema>;
export type McpSandboxConfig = z.infer<typeof sandboxSchema>;
export type McpDockerConfig = z.infer<typeof dockerSchema>;
