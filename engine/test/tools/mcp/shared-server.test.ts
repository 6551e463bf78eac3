// One stdio MCP server serves every call: a tool call that times out in one call must not take the server
// away from the others. A server that still answers is kept (its private temp dir, new for each start, is the
// same before and after); one that is stuck (a busy loop) is stopped, and the next call gets a fresh one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createLogger, engineConfigSchema, parseYaml, validateConfig, type EngineConfig } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { HostResolver } from '../../../src/egress/host-resolver.ts';
import { McpServers } from '../../../src/tools/mcp/mcp-servers.ts';
import { Toolbox } from '../../../src/tools/toolbox.ts';
import type { ToolContext } from '../../../src/tools/types.ts';

const SERVER = fileURLToPath(new URL('./fixtures/test-mcp-server.mjs', import.meta.url));
const defaults = parseYaml(readFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), 'utf8')) as Record<string, unknown>;

describe('a stdio MCP server shared by calls', { timeout: 60_000 }, () => {
  let config: EngineConfig;
  let servers: McpServers;

  before(async () => {
    config = validateConfig(
      {
        ...defaults,
        mcp: { servers: { orders: { transport: 'stdio', command: process.execPath, args: [SERVER], timeout_ms: 1500, filler_after_ms: 0 } } },
        contexts: { default: { mcp_tools: ['orders__*'] } },
      },
      engineConfigSchema,
      {},
    );
    servers = new McpServers({ config: config.mcp, egress: config.egress, resolver: new HostResolver([]), log: createLogger({ service: 'test', level: 'silent' }), env: {} });
    await servers.start();
  });
  after(() => servers?.close());

  /** One tool call as the call `callId` makes it. */
  async function call(callId: string, name: string, args: Record<string, unknown> = {}): Promise<string> {
    const context = config.contexts.default!;
    const box = new Toolbox(context, { transfer: false, sendDtmf: false }, servers.forContext(context));
    const ctx: ToolContext = {
      call: { id: callId, context: 'default', transport: 'rtp', codec: 'ulaw' },
      control: { actions: { transfer: false, sendDtmf: false } } as ToolContext['control'],
      context,
      replyText: '',
      say: async () => undefined,
      playedOut: async () => undefined,
      end: () => undefined,
      signal: new AbortController().signal,
    };
    return (await box.run({ id: `${callId}-t`, name: `orders__${name}`, arguments: JSON.stringify(args) }, ctx)).content;
  }
  const serverDir = async (callId: string): Promise<string> => (JSON.parse(await call(callId, 'whoami')) as { cwd: string }).cwd;

  it('a slow tool timing out in one call leaves the server running for the others', async () => {
    const before = await serverDir('call-b');
    // Call A's tool is slower than timeout_ms; meanwhile call B asks the server again.
    const [timedOut, answered] = await Promise.all([call('call-a', 'slow_lookup', { order_id: 'A-1', delay_ms: 30_000 }), call('call-b', 'lookup_order', { order_id: 'B-2' })]);
    assert.match(timedOut, /no answer within 1500 ms/);
    assert.equal(answered, 'Order B-2 has shipped and arrives tomorrow.');
    assert.equal(await serverDir('call-b'), before, 'the server was restarted');
  });

  it('a tool that leaves the server stuck: the server is replaced, and the next call of any call works', async () => {
    const before = await serverDir('call-b');
    assert.match(await call('call-a', 'spin'), /no answer within 1500 ms/);
    const after = await serverDir('call-b');
    assert.notEqual(after, before, 'the stuck server was kept');
    assert.equal(await call('call-c', 'lookup_order', { order_id: 'C-3' }), 'Order C-3 has shipped and arrives tomorrow.');
  });
});
