// stdio MCP servers with `sandbox.type: docker`, through the engine's MCP client (McpServers, as calls and
// POST /mcp/test use it) and a private dockerd: the test MCP server, bundled into an image holding only Node and
// its libraries, lists its tools and answers calls from inside a container; reaching for the network, writing
// outside its tmpfs or running past its time is stopped while the caller's tool call gets an error answer; the
// container is created with the configured limits; a Docker engine that is missing, or an image that is not
// there, is a clear error for that server only; containers an earlier run left are removed at start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger, engineConfigSchema, parseYaml, validateConfig, type ContextConfig, type EngineConfig } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { DockerHost, dockerdUnavailableReason } from '@ai-agent/admin-ui/testing/docker';
import { Rootfs } from '@ai-agent/admin-ui/testing/images';
import { HostResolver } from '../../../src/egress/host-resolver.ts';
import { McpServers } from '../../../src/tools/mcp/mcp-servers.ts';
import type { Tool, ToolContext } from '../../../src/tools/types.ts';

const SERVER = fileURLToPath(new URL('./fixtures/test-mcp-server.mjs', import.meta.url));
const ESBUILD = join(REPO_ROOT, 'node_modules/.bin/esbuild');
const IMAGE = 'ai-agent-test/mcp-node:1';
const ENGINE = 'mcp-docker-test';
const ORDERS_KEY = 'orders-docker-key-7d1e4b9a2c';
const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), 'utf8')) as Record<string, unknown>;
const log = createLogger({ service: 'test', level: 'silent' });
const context = { mcp_tools: ['box__*', 'rogue__*', 'ghost__*', 'broken__*'] } as ContextConfig;
const skip = dockerdUnavailableReason();

function servers(socket: string): { mcp: McpServers; config: EngineConfig } {
  const docker = (extra: Record<string, unknown>) => ({
    transport: 'stdio',
    command: '/usr/bin/node',
    args: ['/srv/server.mjs'],
    sandbox: { type: 'docker', image: IMAGE, memory_mb: 256, cpus: 0.5, processes: 32, tmp_mb: 8 },
    ...extra,
  });
  const config = validateConfig(
    {
      ...defaults,
      mcp: {
        docker: { socket, engine_name: ENGINE },
        servers: {
          box: docker({ env: { ORDERS_KEY: '${env:ORDERS_KEY}', SLOW_MS: '10' } }),
          rogue: docker({ timeout_ms: 2000 }),
          ghost: docker({ sandbox: { type: 'docker', image: 'ai-agent-test/absent:1' }, connect_timeout_ms: 5000 }),
          // Fails at start, saying why on stderr.
          broken: docker({ args: ['-e', "console.error('bad key'); process.exit(3)"], connect_timeout_ms: 5000 }),
        },
      },
    },
    engineConfigSchema,
    {},
  );
  const mcp = new McpServers({ config: config.mcp, egress: config.egress, resolver: new HostResolver([]), log, env: { ORDERS_KEY } });
  return { mcp, config };
}

/** Runs one tool as a call would: the model's arguments in, what the model reads out. */
async function run(tools: Tool<Record<string, unknown>>[], name: string, args: Record<string, unknown> = {}): Promise<string> {
  const tool = tools.find((t) => t.name === name);
  assert.ok(tool, `${name} is not offered: ${tools.map((t) => t.name).join()}`);
  const signal = new AbortController().signal;
  const ctx = { call: { id: 'docker-test-call' }, signal, callSignal: signal } as unknown as ToolContext;
  return (await tool.run(args, ctx)).content;
}

describe('MCP servers in a Docker container', { skip: skip ?? false, timeout: 120_000 }, () => {
  const host = new DockerHost();
  let mcp: McpServers;
  let tools: Tool<Record<string, unknown>>[];
  /** Listens on the host's loopback: a container without network must not reach it. */
  let listener: Server;
  let leftover: string;
  let otherEngines: string;

  const containersOf = async (server: string) =>
    host.direct.listContainers({ all: true, filters: JSON.stringify({ label: [`io.ai-agent.mcp-engine=${ENGINE}`, `io.ai-agent.mcp-server=${server}`] }) });

  before(async () => {
    await host.start();
    // The smallest image that runs the server: Node and the libraries it loads, and the server bundled into one file.
    const rootfs = new Rootfs(join(host.dir, 'mcp-rootfs')).addBinary(realpathSync(process.execPath));
    mkdirSync(join(rootfs.dir, 'srv'));
    const bundled = spawnSync(ESBUILD, [SERVER, '--bundle', '--platform=node', '--format=esm', '--log-level=warning', `--outfile=${join(rootfs.dir, 'srv/server.mjs')}`], { encoding: 'utf8' });
    assert.equal(bundled.status, 0, bundled.stderr);
    await host.importTar(rootfs.tarArgs(), IMAGE);
    // Containers a killed engine left behind: this engine's are removed at start, another engine's are not.
    const idle = (labels: Record<string, string>) =>
      host.direct.createContainer({ Image: IMAGE, Entrypoint: ['/usr/bin/node', '-e', 'setInterval(() => {}, 60000)'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
    const [mine, theirs] = await Promise.all([idle({ 'io.ai-agent.mcp-engine': ENGINE }), idle({ 'io.ai-agent.mcp-engine': 'another-engine' })]);
    await Promise.all([mine.start(), theirs.start()]);
    [leftover, otherEngines] = [mine.id, theirs.id];
    listener = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    mcp = servers(host.socket).mcp;
    await mcp.start();
    tools = mcp.forContext(context);
  });
  after(async () => {
    await mcp?.close();
    listener?.close();
    await host.stop();
  });

  it('lists the tools of a server in a container and answers its calls; an earlier run\'s containers are removed', async () => {
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('box__lookup_order') && names.includes('rogue__spin'), names.join());
    assert.ok(!names.some((n) => n.startsWith('ghost__')), 'a server that could not start offered tools');
    assert.equal(await run(tools, 'box__lookup_order', { order_id: 'A-17' }), 'Order A-17 has shipped and arrives tomorrow.');
    assert.equal(await run(tools, 'box__slow_lookup', { order_id: 'B-2' }), 'Order B-2 was delivered yesterday.');
    const who = JSON.parse(await run(tools, 'box__whoami')) as { uid: number; cwd: string; env: string[] };
    assert.equal(who.uid, 65534);
    assert.equal(who.cwd, '/tmp');
    // Only what is configured, and what Docker always sets (HOSTNAME; PATH, as the image sets none).
    assert.deepEqual(who.env, ['HOME', 'HOSTNAME', 'ORDERS_KEY', 'PATH', 'SLOW_MS', 'TMPDIR']);

    await assert.rejects(host.direct.getContainer(leftover).inspect(), /no such container/i);
    assert.equal((await host.direct.getContainer(otherEngines).inspect()).State.Running, true);
  });

  it('creates the container read-only, without network, capabilities or root, within its limits, removed when it stops', async () => {
    const [container] = await containersOf('box');
    assert.ok(container, 'no container runs the box server');
    const { Config, HostConfig } = await host.direct.getContainer(container.Id).inspect();
    assert.equal(Config.User, '65534:65534');
    assert.equal((Config as { NetworkDisabled?: boolean }).NetworkDisabled, true);
    assert.deepEqual(Config.Entrypoint, ['/usr/bin/node']);
    assert.equal(HostConfig.NetworkMode, 'none');
    assert.equal(HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(HostConfig.Tmpfs, { '/tmp': 'rw,nosuid,nodev,noexec,size=8m,mode=1777' });
    assert.deepEqual(HostConfig.CapDrop, ['ALL']);
    assert.deepEqual(HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.equal(HostConfig.Memory, 256 * 1024 * 1024);
    assert.equal(HostConfig.MemorySwap, 256 * 1024 * 1024);
    assert.equal(HostConfig.NanoCpus, 0.5e9);
    assert.equal(HostConfig.PidsLimit, 32);
    assert.equal(HostConfig.AutoRemove, true);
    assert.equal(HostConfig.Privileged, false);
    assert.deepEqual(HostConfig.Ulimits, [{ Name: 'cpu', Soft: 60, Hard: 60 }, { Name: 'nofile', Soft: 256, Hard: 256 }]);
  });

  it('a server reaching for the network, writing outside its tmpfs or running past its time is stopped; the call goes on', async () => {
    const port = (listener.address() as { port: number }).port;
    // The host's loopback is listening: only the container's own network (none) keeps the server from it.
    assert.match(await run(tools, 'rogue__fetch_url', { host: '127.0.0.1', port }), /^error: network: ECONNREFUSED/);
    assert.equal(await run(tools, 'rogue__write_file', { path: '/srv/server.mjs', text: 'x' }), 'error: file: EROFS');
    assert.equal(await run(tools, 'rogue__write_file', { path: '/tmp/scratch', text: 'x' }), 'written');

    assert.match(await run(tools, 'rogue__spin'), /^error: rogue__spin failed: no answer within 2000 ms/);
    assert.deepEqual(await containersOf('rogue'), [], 'the container past its time is still there');
    // Started afresh on next use.
    assert.match(await run(tools, 'rogue__whoami'), /"uid":65534/);
  });

  it('POST /mcp/test reports the container sandbox, an image that is not on the Docker host and a server that exits with its stderr', async () => {
    const report = await mcp.test('box');
    assert.equal(report?.ok, true, report?.error);
    assert.ok(report?.sandbox?.applied.includes('read-only root') && report.sandbox.applied.includes('no network'), report?.sandbox?.applied.join());
    const ghost = await mcp.test('ghost');
    assert.equal(ghost?.ok, false);
    assert.match(ghost?.error ?? '', /image ai-agent-test\/absent:1 is not on the Docker host/);
    const broken = await mcp.test('broken');
    assert.equal(broken?.ok, false);
    assert.match(broken?.error ?? '', /could not start: .*\(exited with code 3\); stderr: bad key/);
  });

  it('a Docker engine that is not there is a clear error for its servers; they offer no tools and nothing else fails', async () => {
    const { mcp: down } = servers(join(host.dir, 'absent.sock'));
    try {
      await down.start();
      assert.deepEqual(down.forContext(context), []);
      const report = await down.test('box');
      assert.equal(report?.ok, false);
      assert.match(report?.error ?? '', /could not start: Docker is unavailable at \S+absent\.sock \(no socket there\)/);
      assert.ok(!report?.error?.includes(ORDERS_KEY));
    } finally {
      await down.close();
    }
  });
});
