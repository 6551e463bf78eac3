// The `mcp:` config and a context's `mcp_tools:` are checked at start: each mistake is one error naming its key,
// never echoing a secret, and a server's `${env:NAME}` secret missing from the environment stops the start. An
// HTTP server's URL goes through the egress guard when used: a name that resolves to loopback is refused.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, createLogger, engineConfigSchema, parseYaml, validateConfig, type EngineConfig } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { HostResolver } from '../../../src/egress/host-resolver.ts';
import { McpServers } from '../../../src/tools/mcp/mcp-servers.ts';

type Tree = Record<string, unknown>;
const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), 'utf8')) as Tree;
const stdio = { transport: 'stdio', command: '/usr/bin/node', args: ['server.js'] };

function load(more: Tree): EngineConfig {
  return validateConfig({ ...defaults, ...more }, engineConfigSchema, {});
}

function refused(more: Tree, key: string, reason: RegExp): void {
  assert.throws(
    () => load(more),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.key, key);
      assert.match(err.reason, reason);
      assert.ok(!err.line().includes('hunter2'), 'a secret value leaked into the error');
      return true;
    },
  );
}

describe('MCP configuration', () => {
  it('accepts stdio and HTTP servers and a context allowlist, with sandbox defaults', () => {
    const config = load({
      egress: { allow: [{ host: 'mcp.example.com' }] },
      mcp: { servers: { crm: stdio, docs: { transport: 'http', url: 'https://mcp.example.com/mcp' } } },
      contexts: { default: { mcp_tools: ['crm__*', 'docs__search'] } },
    });
    const crm = config.mcp.servers.crm!;
    assert.equal(crm.transport, 'stdio');
    if (crm.transport === 'stdio') assert.deepEqual(crm.sandbox, { type: 'process', cpus: 1, tmp_mb: 64, uid: 65534, gid: 65534, cpu_seconds: 60, memory_mb: 1024, open_files: 256, processes: 64, network: false });
    assert.deepEqual(config.mcp.docker, { socket: '/var/run/docker.sock', engine_name: 'ai-agent' });
    assert.deepEqual(config.contexts.default!.mcp_tools, ['crm__*', 'docs__search']);
  });

  it('names the key of each mistake', () => {
    refused({ mcp: { servers: { crm: { ...stdio, command: 'node' } } } }, 'mcp.servers.crm.command', /absolute path/);
    refused({ mcp: { servers: { 'my_crm': stdio } } }, 'mcp.servers.my_crm', /letters, digits and -/);
    refused({ mcp: { servers: { crm: { ...stdio, sandbox: { memory_mb: 1 } } } } }, 'mcp.servers.crm.sandbox.memory_mb', /64/);
    refused({ mcp: { servers: { crm: { ...stdio, shell: true } } } }, 'mcp.servers.crm', /shell/);
    refused({ mcp: { servers: { crm: { ...stdio, sandbox: { type: 'docker' } } } } }, 'mcp.servers.crm.sandbox.image', /required with type: docker/);
    refused({ mcp: { servers: { crm: { ...stdio, sandbox: { image: 'mcp/crm:1' } } } } }, 'mcp.servers.crm.sandbox.image', /only with type: docker/);
    refused({ mcp: { servers: { crm: { ...stdio, sandbox: { type: 'podman' } } } } }, 'mcp.servers.crm.sandbox.type', /process|docker/);
    refused({ mcp: { docker: { socket: 'docker.sock' } } }, 'mcp.docker.socket', /absolute path/);
    refused({ contexts: { default: { mcp_tools: ['crm__*'] } } }, 'contexts.default.mcp_tools.0', /no server "crm" in mcp\.servers/);
    refused({ contexts: { default: { mcp_tools: ['crm'] } } }, 'contexts.default.mcp_tools.0', /<server>__<tool>/);
    refused({ mcp: { servers: { docs: { transport: 'http', url: 'https://elsewhere.example.net/mcp' } } } }, 'mcp.servers.docs.url', /egress\.allow/);
    refused({ mcp: { servers: { docs: { transport: 'ftp', url: 'x' } } } }, 'mcp.servers.docs.transport', /./);
    // An HTTP tool named like an MCP tool (<server>__<tool>) could shadow it.
    const lookup = { name: 'crm__lookup', description: 'Looks a customer up.', url: 'https://crm.example.com/lookup' };
    refused({ egress: { allow: [{ host: 'crm.example.com' }] }, contexts: { default: { http_tools: [lookup] } } }, 'contexts.default.http_tools.0.name', /must not contain "__"/);
    // A literal secret in a server's env is refused like any secret in the file.
    refused({ mcp: { servers: { crm: { ...stdio, env: { CRM_API_KEY: 'hunter2' } } } } }, 'mcp.servers.crm.env.CRM_API_KEY', /environment/);
  });

  it('a server secret missing from the environment stops the start, naming the key', () => {
    const config = load({ mcp: { servers: { crm: { ...stdio, env: { CRM_API_KEY: '${env:CRM_MCP_KEY}' } } } } });
    const log = createLogger({ service: 'test', level: 'silent' });
    assert.throws(
      () => new McpServers({ config: config.mcp, egress: config.egress, resolver: new HostResolver([]), log, env: {} }),
      (err: unknown) => err instanceof ConfigError && err.key === 'mcp.servers.crm.env.CRM_API_KEY' && /CRM_MCP_KEY/.test(err.reason),
    );
  });

  it('an HTTP server whose name resolves to loopback is refused by the egress guard (no SSRF through an MCP URL)', async () => {
    const config = load({
      egress: { allow: [{ host: 'localhost', http: true }] },
      mcp: { servers: { docs: { transport: 'http', url: 'http://localhost:9/mcp', connect_timeout_ms: 3000 } } },
    });
    const log = createLogger({ service: 'test', level: 'silent' });
    const servers = new McpServers({ config: config.mcp, egress: config.egress, resolver: new HostResolver([]), log, env: {} });
    const report = await servers.test('docs');
    assert.equal(report?.ok, false);
    assert.match(report?.error ?? '', /a loopback address, which the egress allowlist does not allow/);
  });
});
