import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { REPO_ROOT, startService, type ServiceProcess } from '@ai-agent/common/testing';
import { adminSession, startAdmin, type AdminProcess } from './admin-process.ts';
import { readEvents, type Client } from './http-client.ts';

const MCP_SERVER = join(REPO_ROOT, 'engine/test/tools/mcp/fixtures/test-mcp-server.mjs');
const SIGNING_SECRET = 'admin-ui-signing-secret-0123456789abcdef';
// Shapes the scrubber does not know: only "never sent, never logged" keeps them out of the output.
const PLANTED = `planted${'7f3a9c'.repeat(4)}`;
const REPLACED = `replaced${'c0ffee'.repeat(4)}`;

type Tree = Record<string, any>;

describe('admin UI ↔ a real engine process (signed requests only)', () => {
  let dir: string;
  let configFile: string;
  let engine: ServiceProcess;
  let admin: AdminProcess;
  let session: Client;
  let enginePort: number;
  const bodies: string[] = [];

  const get = async (path: string) => {
    const r = await session.get(path);
    bodies.push(JSON.stringify(r.headers), r.text);
    return r;
  };
  const put = async (path: string, body: unknown) => {
    const r = await session.send('PUT', path, body);
    bodies.push(JSON.stringify(r.headers), r.text);
    return r;
  };
  const backups = (): string[] => readdirSync(dir).filter((f) => f.startsWith('ai-agent.yaml.') && f.endsWith('.bak'));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'admin-engine-'));
    configFile = join(dir, 'ai-agent.yaml');
    const tree = parse(readFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), 'utf8')) as Tree;
    tree.store = { ...tree.store, path: join(dir, 'calls.sqlite') };
    tree.media = { ...tree.media, audiosocket: { port: 0 }, websocket: { port: 0 }, rtp: { ...tree.media.rtp, port_min: 0, port_max: 0 } };
    // The engine's own MCP test server over stdio, for the admin UI's "test" relay.
    tree.mcp = { servers: { orders: { transport: 'stdio', command: process.execPath, args: [MCP_SERVER] } } };
    writeFileSync(configFile, `# engine config under test\n${stringify(tree)}`);
    engine = startService('engine/src/main.ts', {
      AI_AGENT_CONFIG: configFile,
      HEALTH_PORT: '0',
      // The engine trusts no loopback caller here: only requests signed as admin-ui get in.
      HEALTH_TRUST_LOOPBACK: 'false',
      SERVICE_SECRET_ADMIN_UI: SIGNING_SECRET,
    });
    const line = await engine.waitFor(/engine control server listening/, 30_000);
    enginePort = (JSON.parse(line) as { address: { port: number } }).address.port;
    admin = await startAdmin(
      { AI_AGENT_CONFIG: configFile, ADMIN_ENGINE_URL: `http://127.0.0.1:${enginePort}`, SERVICE_SECRET_ADMIN_UI: SIGNING_SECRET, OPENAI_API_KEY: PLANTED },
      `# provider keys\nOPENAI_API_KEY=${PLANTED}\n`,
    );
    session = await adminSession(admin);
  });
  after(async () => {
    await admin?.stop();
    await engine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the engine refuses an unsigned caller, and answers the admin UI', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${enginePort}/calls`)).status, 401);
    const status = await get('/api/engine/status');
    assert.equal(status.status, 200);
    assert.equal(status.json.health.version, '0.1.0');
    assert.equal(status.json.ready.status, 'not_ready', 'no Asterisk here');
    assert.equal(status.json.ready.checks.ari, false);
    const calls = await get('/api/calls?limit=5');
    assert.deepEqual(calls.json.active, []);
    assert.ok(Array.isArray(calls.json.recent));
    assert.deepEqual((await get('/api/calls/no-such-call')).json, { error: 'not found' });
    const hangup = await session.send('POST', '/api/calls/no-such-call/hangup');
    assert.equal(hangup.status, 404);
    const audit = (await get('/api/audit?limit=5')).json as Array<{ action: string; detail: { callId?: string } }>;
    assert.ok(audit.some((e) => e.action === 'call.hangup' && e.detail.callId === 'no-such-call'));
  });

  it('MCP server test: relayed signed to the engine by config:write only, CSRF-checked, audited; its tools listed', async () => {
    assert.deepEqual((await get('/api/mcp/servers')).json, { servers: [{ id: 'orders', transport: 'stdio' }] });
    const path = '/api/mcp/servers/orders/test';
    // A cookie session without the CSRF header, or a token that may only read the config, starts nothing.
    assert.equal((await session.request(path, { method: 'POST' })).status, 403);
    const reader = await session.send('POST', '/api/tokens', { name: 'mcp reader', scopes: ['config:read'] });
    const writer = await session.send('POST', '/api/tokens', { name: 'mcp writer', scopes: ['config:write'] });
    const script = admin.client();
    const asToken = (token: string) => script.request(path, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.deepEqual((await asToken(reader.json.token)).json, { error: 'forbidden' });

    // The engine trusts no loopback caller: the answer proves the relay signs.
    const tested = await session.send('POST', path);
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.json.ok, true);
    const tools = tested.json.tools as Array<{ name: string; description: string }>;
    assert.deepEqual(tools.find((t) => t.name === 'orders__lookup_order'), { name: 'orders__lookup_order', description: 'The status of an order by its number.' });
    assert.equal((await asToken(writer.json.token)).status, 200);

    assert.equal((await session.send('POST', '/api/mcp/servers/not_an_id/test')).status, 400);
    assert.equal((await session.send('POST', '/api/mcp/servers/nowhere/test')).status, 404);
    const audit = (await get('/api/audit?limit=10')).json as Array<{ action: string; actor: string; detail: { serverId?: string } }>;
    const tests = audit.filter((e) => e.action === 'mcp.test');
    assert.deepEqual(tests.map((e) => [e.actor, e.detail.serverId]), [['admin', 'nowhere'], ['token:mcp writer', 'orders'], ['admin', 'orders']]);
  });

  it('GET /api/events streams the engine status at once and metrics every few seconds', async () => {
    const { status, events } = await readEvents(session, '/api/events', (seen) => seen.some((e) => e.event === 'metrics'), 9000);
    assert.equal(status, 200);
    const first = events.find((e) => e.event === 'status')?.data as Tree;
    assert.equal(first.ready.status, 'not_ready');
    const metrics = events.find((e) => e.event === 'metrics')?.data as Tree;
    assert.equal(metrics.activeCalls, 0);
    assert.equal(typeof metrics.eventLoopLagSeconds, 'number');
  });

  it('a config save validates, writes atomically with a timestamped backup, and reloads the engine', async () => {
    const current = await get('/api/config');
    assert.equal(current.json.state.running.version, 1);
    const before = readFileSync(configFile, 'utf8');
    assert.equal(current.json.yaml, before);
    const tree = parse(before) as Tree;
    tree.limits.max_concurrent_calls = 7;
    const saved = await put('/api/config', { yaml: `# edited in the admin UI\n${stringify(tree)}` });
    assert.equal(saved.status, 200, saved.text);
    assert.deepEqual(saved.json.changed, ['limits.max_concurrent_calls']);
    assert.equal(saved.json.reload.reloaded, true);
    assert.deepEqual(saved.json.reload.changed, ['limits.max_concurrent_calls']);
    assert.deepEqual(backups(), [saved.json.backup]);
    assert.equal(readFileSync(join(dir, saved.json.backup), 'utf8'), before, 'the backup holds the previous file');
    assert.match(readFileSync(configFile, 'utf8'), /^# edited in the admin UI/);
    const after = await get('/api/config');
    assert.equal(after.json.state.running.version, 2, 'the engine runs the new config');
    assert.deepEqual(after.json.state.differs, [], 'and it matches the file');
    const audit = (await get('/api/audit?limit=5')).json as Array<{ action: string; detail: { keys?: string[] } }>;
    assert.deepEqual(audit.find((e) => e.action === 'config.change')?.detail.keys, ['limits.max_concurrent_calls']);
  });

  it('an invalid config names the key and changes nothing', async () => {
    const before = readFileSync(configFile, 'utf8');
    const backupsBefore = backups();
    const tree = parse(before) as Tree;
    tree.limits.max_concurrent_calls = 0;
    const bad = await put('/api/config', { yaml: stringify(tree) });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.error, 'invalid config');
    assert.equal(bad.json.key, 'limits.max_concurrent_calls');
    assert.ok(bad.json.reason);
    const syntax = await put('/api/config', { yaml: 'limits: [unclosed' });
    assert.deepEqual([syntax.status, syntax.json.key], [422, '(yaml)']);
    const secret = await put('/api/config', { yaml: stringify({ ...tree, ari: { ...tree.ari, password: 'in-the-file' } }) });
    assert.deepEqual([secret.status, secret.json.key], [422, 'ari.password']);
    // The commands the engine runs come from the file on disk only: not a changed command, not a new server.
    const valid = parse(before) as Tree;
    const orders = valid.mcp.servers.orders;
    const command = await put('/api/config', { yaml: stringify({ ...valid, mcp: { servers: { orders: { ...orders, command: '/bin/sh' } } } }) });
    assert.deepEqual([command.status, command.json.key], [422, 'mcp.servers.orders.command']);
    assert.match(command.json.reason, /on disk only/);
    const added = await put('/api/config', { yaml: stringify({ ...valid, mcp: { servers: { ...valid.mcp.servers, shell: { transport: 'stdio', command: '/bin/sh' } } } }) });
    assert.deepEqual([added.status, added.json.key], [422, 'mcp.servers.shell']);
    const socket = await put('/api/config', { yaml: stringify({ ...valid, mcp: { ...valid.mcp, docker: { socket: '/run/other.sock' } } }) });
    assert.deepEqual([socket.status, socket.json.key], [422, 'mcp.docker']);
    assert.equal(readFileSync(configFile, 'utf8'), before);
    assert.deepEqual(backups(), backupsBefore);
    assert.equal((await get('/api/config')).json.state.running.version, 2);
  });

  it('contexts and providers as forms: drawn from the engine\'s schema, saved key by key through the same path', async () => {
    const forms = await get('/api/config/forms');
    assert.equal(forms.status, 200, forms.text);
    const { schemas, contexts, providers } = forms.json as Tree;
    assert.ok(schemas.context.properties.greeting && schemas.context.properties.barge_in.properties.min_words, 'a context\'s keys, nested ones too');
    assert.deepEqual(schemas.provider.oneOf.map((v: Tree) => v.properties.type.const).slice(0, 3), ['local_ai', 'openai', 'deepgram']);
    const before = readFileSync(configFile, 'utf8');
    assert.deepEqual(contexts, (parse(before) as Tree).contexts, 'the file as written, before defaults');
    const backupsBefore = backups().length;

    contexts.default.greeting = 'Hello from a form.';
    contexts.sales = { greeting: 'Sales here.', tools: ['hangup'] };
    providers.local.connect_timeout_ms = 4000;
    const saved = await put('/api/config/forms', { contexts, providers });
    assert.equal(saved.status, 200, saved.text);
    assert.deepEqual(saved.json.changed, ['contexts.default.greeting', 'contexts.sales', 'providers.local.connect_timeout_ms']);
    assert.equal(saved.json.reload.reloaded, true);
    assert.equal(backups().length, backupsBefore + 1);
    assert.equal(readFileSync(join(dir, saved.json.backup), 'utf8'), before);
    const after = readFileSync(configFile, 'utf8');
    assert.match(after, /^# edited in the admin UI\n/, 'the rest of the file is kept as written');
    const lost = before.split('\n').filter((line) => !after.split('\n').includes(line));
    assert.deepEqual(lost.map((line) => line.trim().split(':')[0]), ['greeting'], 'only the changed value is replaced; every other line is kept');
    assert.deepEqual((await get('/api/config')).json.state.differs, [], 'the engine runs the saved file');

    // Rejected by the engine's schema: the key and the reason, nothing written.
    const backupsNow = backups();
    const tooShort = await put('/api/config/forms', { providers: { ...providers, local: { ...providers.local, connect_timeout_ms: 5 } } });
    assert.deepEqual([tooShort.status, tooShort.json.key], [422, 'providers.local.connect_timeout_ms']);
    assert.match(tooShort.json.reason, /100/);
    const badType = await put('/api/config/forms', { providers: { ...providers, local: { type: 'carrier_pigeon' } } });
    assert.deepEqual([badType.status, badType.json.key], [422, 'providers.local.type']);
    const badName = await put('/api/config/forms', { contexts: { 'no spaces': {} } });
    assert.deepEqual([badName.status, badName.json.key], [422, 'contexts.no spaces']);
    const secret = await put('/api/config/forms', { providers: { ...providers, openai: { type: 'openai', api_key: 'sk-in-the-file' } } });
    assert.deepEqual([secret.status, secret.json.key], [422, 'providers.openai.api_key']);
    assert.equal(readFileSync(configFile, 'utf8'), after);
    assert.deepEqual(backups(), backupsNow);
  });

  it('call history filters are checked with a reason, then applied by the engine\'s store', async () => {
    assert.deepEqual((await get('/api/calls?context=nowhere&outcome=in_progress&caller=1234&from=2026-01-01T00:00:00Z')).json.recent, []);
    const badFrom = await get('/api/calls?from=yesterday');
    assert.deepEqual([badFrom.status, badFrom.json.key], [400, 'from']);
    const badOutcome = await get('/api/calls?outcome=exploded');
    assert.deepEqual([badOutcome.status, badOutcome.json.key], [400, 'outcome']);
    const backwards = await get('/api/calls?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    assert.deepEqual([backwards.status, backwards.json.key], [400, 'to']);
  });

  it('provider keys are write-only: set/not set, replaced in .env with a backup, never returned or logged', async () => {
    const names = (await get('/api/secrets')).json.names as Array<{ name: string; set: boolean }>;
    assert.deepEqual(names.find((n) => n.name === 'OPENAI_API_KEY'), { name: 'OPENAI_API_KEY', set: true });
    assert.deepEqual(names.find((n) => n.name === 'DEEPGRAM_API_KEY'), { name: 'DEEPGRAM_API_KEY', set: false });
    assert.equal((await put('/api/secrets/JWT_SECRET', { value: 'x'.repeat(40) })).status, 404, 'only the product secrets');
    const bad = await put('/api/secrets/DEEPGRAM_API_KEY', { value: `${REPLACED} "quoted"` });
    assert.equal(bad.status, 400);
    assert.equal((await put('/api/secrets/DEEPGRAM_API_KEY', { value: REPLACED })).status, 204);
    assert.equal((await put('/api/secrets/OPENAI_API_KEY', { value: `${REPLACED}x` })).status, 204);
    const env = readFileSync(admin.envFile, 'utf8');
    assert.match(env, /^# provider keys$/m);
    assert.match(env, new RegExp(`^DEEPGRAM_API_KEY="${REPLACED}"$`, 'm'));
    assert.match(env, new RegExp(`^OPENAI_API_KEY="${REPLACED}x"$`, 'm'));
    assert.equal(statSync(admin.envFile).mode & 0o777, 0o600);
    const envBackups = readdirSync(admin.dir).filter((f) => f.startsWith('.env.') && f.endsWith('.bak'));
    assert.equal(envBackups.length, 2);
    for (const f of envBackups) assert.equal(statSync(join(admin.dir, f)).mode & 0o777, 0o600);
    assert.equal(((await get('/api/secrets')).json.names as Array<{ set: boolean }>).filter((n) => n.set).length, 2);

    for (const path of ['/api/me', '/api/engine/status', '/api/calls', '/api/config', '/api/secrets', '/api/tokens', '/api/users', '/api/audit?limit=500', '/api/containers', '/api/nope']) await get(path);
    const everything = bodies.join('\n') + admin.service.stdout() + admin.service.stderr();
    for (const value of [PLANTED, REPLACED]) assert.ok(!everything.includes(value), `${value.slice(0, 10)}… leaked`);
    assert.match(admin.service.stdout(), /"msg":"request"/, 'the log was captured');
  });
});
