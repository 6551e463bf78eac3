// MCP tools in calls through the real engine process: Asterisk is the test peer, STT/TTS the Deepgram stand-in
// and the model the OpenAI stand-in (real SDKs in the engine). A tiny MCP server (the SDK's server classes) runs
// once as the engine's sandboxed stdio child and once as a streamable HTTP server reached through the egress
// guard. The model's tool calls reach them by their namespaced names, only the context's allowlisted tools are
// offered, a slow tool gets a spoken filler, a server that misbehaves is stopped and the call goes on.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { canCreateNetns, createRemotePeer } from '@ai-agent/common/testing';
import { PENDING_ANSWER } from '../../../src/pipeline/tool-answers.ts';
import { hangup, say, startDeepgramFake, startOpenAiFake, waitForAgent, waitForAgentSilence, type DeepgramFake, type OpenAiFake } from '@ai-agent/test-peers';
import { finishedCalls, startEngine, type EngineUnderTest } from '../../e2e/helpers.ts';

const OPENAI_KEY = 'sk-e2e-mcp-0123456789abcdef';
const DEEPGRAM_KEY = 'dg-e2e-mcp-0123456789abcdef';
const ORDERS_KEY = 'orders-mcp-key-5f2c9a7e1d';
const WEATHER_TOKEN = 'weather-mcp-token-8b3e6d1f0a';
const CONTROL_TOKEN = 'control-mcp-token-0123456789abcdef';
/** No local AI server runs here: the context uses the stand-ins for every stage. */
const UNUSED_PORT = 9;
const SERVER = fileURLToPath(new URL('./fixtures/test-mcp-server.mjs', import.meta.url));
const isRoot = process.getuid?.() === 0;
const netns = await canCreateNetns();

interface ChatRequest {
  messages: Array<{ role: string; content?: string; tool_call_id?: string }>;
  tools?: Array<{ function: { name: string; parameters: { properties?: Record<string, unknown> } } }>;
}

/** The test MCP server over streamable HTTP, as its own process; resolves once it listens. */
async function startHttpServer(env: Record<string, string>): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, [SERVER, 'http'], { env: { ...env, PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').once('data', (line: string) => resolve((JSON.parse(line) as { port: number }).port));
    proc.once('exit', (code) => reject(new Error(`the HTTP MCP server exited (${code})`)));
  });
  return { proc, port };
}

describe('MCP tools in a call', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-mcp-'));
  /** A file outside the sandbox's directory that only its owner (root) may read. */
  const secretFile = join(dir, 'secret.txt');
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;
  let weather: { proc: ChildProcess; port: number };
  let sut: EngineUnderTest;

  before(async () => {
    // Others may pass through the folder (so the sandbox is refused by the file's own mode, nothing else).
    chmodSync(dir, 0o711);
    writeFileSync(secretFile, 'top secret');
    chmodSync(secretFile, 0o600);
    [openai, deepgram, weather] = await Promise.all([
      startOpenAiFake({ apiKey: OPENAI_KEY }),
      startDeepgramFake({ apiKey: DEEPGRAM_KEY }),
      startHttpServer({ MCP_HTTP_TOKEN: WEATHER_TOKEN }),
    ]);
    const stdio = (extra: string) => `{ transport: stdio, command: "${process.execPath}", args: ["${SERVER}"], ${extra} }`;
    sut = await startEngine({
      dir,
      name: 'mcp',
      localAiPort: UNUSED_PORT,
      telephony: 'transport: rtp\nrtp_format: ulaw',
      providers: `dg: { type: deepgram, base_url: "${deepgram.environment.base}" }\noa: { type: openai, base_url: "${openai.baseURL}" }`,
      sections: [
        'egress:',
        '  allow: [{ cidr: 127.0.0.1/32, http: true }]',
        'mcp:',
        '  servers:',
        `    orders: ${stdio('env: { SLOW_MS: "1500", ORDERS_KEY: "${env:ORDERS_KEY}" }, filler_after_ms: 400, timeout_ms: 8000')}`,
        `    weather: { transport: http, url: "http://127.0.0.1:${weather.port}/mcp", headers: { Authorization: "Bearer \${env:WEATHER_TOKEN}" } }`,
        `    rogue: ${stdio('timeout_ms: 1000, filler_after_ms: 0')}`,
        // Fails at start, saying why on stderr (with a secret in it, which the report must mask).
        `    broken: { transport: stdio, command: "${process.execPath}", args: ["-e", "console.error('bad key ' + process.env.ORDERS_KEY); process.exit(3)"], env: { ORDERS_KEY: "\${env:ORDERS_KEY}" }, connect_timeout_ms: 3000 }`,
      ].join('\n'),
      contexts: [
        'default:',
        '  greeting: Hello, how can I help?',
        '  tools: [hangup]',
        '  provider: { type: pipeline, stt: dg, llm: oa, tts: dg }',
        '  mcp_tools: [orders__*, weather__weather, rogue__*]',
      ].join('\n'),
      // The control API listens beyond loopback too (every address, IPv4 included), so a remote caller can try /mcp/test.
      env: { OPENAI_API_KEY: OPENAI_KEY, DEEPGRAM_API_KEY: DEEPGRAM_KEY, ORDERS_KEY, WEATHER_TOKEN, HEALTH_BIND_HOST: '::', HEALTH_API_TOKEN: CONTROL_TOKEN },
    });
  });
  after(async () => {
    await sut?.stop();
    weather?.proc.kill();
    await Promise.all([openai?.close(), deepgram?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const chatRequests = (): ChatRequest[] => openai.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as ChatRequest);
  const toolAnswers = (chat: ChatRequest) => chat.messages.filter((m) => m.role === 'tool').map((m) => m.content ?? '');

  /** One call: the caller says one thing, the model's scripted rounds answer. */
  async function call(heard: string, ...rounds: Parameters<OpenAiFake['chat']['push']>) {
    const before = chatRequests().length;
    deepgram.listen.scripts.push({ heard: [heard] });
    openai.chat.push(...rounds);
    const placed = await sut.peer.placeCall({
      callerId: { number: '4155550100', name: 'E2E' },
      script: [waitForAgentSilence(700, 15_000), say('tts:where is my order'), waitForAgent(15_000), waitForAgentSilence(700, 30_000), hangup()],
    });
    await placed.done;
    const [record] = await finishedCalls(sut.control, 1, 20_000);
    return { record: record!, chats: chatRequests().slice(before) };
  }

  it('offers allowlisted tools by <server>__<tool>; stdio and HTTP answers reach the next model request; a slow one gets a filler', async () => {
    const { record, chats } = await call(
      'where is my order A 17 and how is the weather in Paris',
      {
        toolCalls: [
          { name: 'orders__lookup_order', arguments: { order_id: 'A-17' } },
          { name: 'weather__weather', arguments: { city: 'Paris' } },
          { name: 'orders__whoami', arguments: {} },
          // Slower than the server's filler_after_ms (400): the caller hears the filler while it runs.
          { name: 'orders__slow_lookup', arguments: { order_id: 'B-2', delay_ms: 1500 } },
        ],
      },
      { text: 'Your order arrives tomorrow and Paris is sunny.' },
    );
    assert.equal(chats.length, 2, JSON.stringify(chats));
    const offered = (chats[0]!.tools ?? []).map((t) => t.function.name).sort();
    assert.ok(offered.includes('orders__lookup_order') && offered.includes('rogue__spin') && offered.includes('weather__weather'), offered.join());
    assert.ok(!offered.includes('weather__admin_reset'), 'a tool outside the context allowlist was offered');
    const schema = chats[0]!.tools!.find((t) => t.function.name === 'orders__lookup_order')!.function.parameters;
    assert.deepEqual(Object.keys(schema.properties ?? {}), ['order_id']);

    const [order, forecast, whoami, slow] = toolAnswers(chats[1]!);
    assert.equal(slow, 'Order B-2 was delivered yesterday.');
    assert.equal(order, 'Order A-17 has shipped and arrives tomorrow.');
    assert.equal(forecast, 'Sunny and 21 degrees in Paris.');
    // The sandbox: its own uid (as root), only the configured environment, a private temp dir.
    const who = JSON.parse(whoami!) as { uid: number; cwd: string; env: string[] };
    if (isRoot) assert.equal(who.uid, 65534);
    assert.deepEqual(who.env, ['HOME', 'ORDERS_KEY', 'SLOW_MS', 'TMPDIR']);
    assert.match(who.cwd, /\/mcp-orders-/);
    const agent = record.turns.filter((t) => t.speaker === 'agent').map((t) => t.text);
    assert.ok(agent.includes('One moment while I check. Your order arrives tomorrow and Paris is sunny.'), JSON.stringify(agent));
    assert.equal(record.events.filter((e) => e.kind === 'tool_call').length, 4);
  });

  it('a sandboxed server that reaches for the network, a file outside its dir or runs past its time is stopped; the call goes on', async () => {
    const { record, chats } = await call(
      'try everything',
      {
        toolCalls: [
          // A port that is listening on this host: only the sandbox's network namespace keeps the server from it.
          { name: 'rogue__fetch_url', arguments: { host: '127.0.0.1', port: Number(new URL(openai.baseURL).port) } },
          { name: 'rogue__read_file', arguments: { path: secretFile } },
        ],
      },
      { toolCalls: [{ name: 'rogue__spin', arguments: {} }] },
      { toolCalls: [{ name: 'rogue__whoami', arguments: {} }] },
      { text: 'Sorry, that did not work.' },
    );
    assert.equal(chats.length, 4, JSON.stringify(chats.map(toolAnswers)));
    const [network, file] = toolAnswers(chats[1]!);
    assert.match(network!, /^error: network: ENETUNREACH/);
    if (isRoot) assert.equal(file, 'error: file: EACCES');
    assert.match(toolAnswers(chats[2]!)[2]!, /^error: rogue__spin failed: no answer within 1000 ms/);
    // Stopped and started afresh: the next call of the same server works.
    assert.match(toolAnswers(chats[3]!)[3]!, /"uid"/);
    assert.ok(record.turns.some((t) => t.speaker === 'agent' && t.text === 'Sorry, that did not work.'));
    await sut.engine.waitFor(/mcp tool timed out; stopping the server/, 1000);
  });

  it('POST /mcp/test lists a server\'s tools from loopback, and reports a failing one with its secrets masked', async () => {
    const ok = await fetch(`${sut.control}/mcp/test/orders`, { method: 'POST' });
    assert.equal(ok.status, 200);
    const report = (await ok.json()) as { ok: boolean; tools: Array<{ name: string }>; sandbox: { applied: string[] } };
    assert.equal(report.ok, true);
    assert.ok(report.tools.some((t) => t.name === 'orders__lookup_order'));
    if (isRoot) assert.ok(report.sandbox.applied.includes('uid 65534 gid 65534'), report.sandbox.applied.join());

    const bad = await fetch(`${sut.control}/mcp/test/broken`, { method: 'POST' });
    const failed = (await bad.json()) as { ok: boolean; error: string };
    assert.equal(failed.ok, false);
    assert.match(failed.error, /could not start/);
    assert.match(failed.error, /bad key/);
    assert.ok(!failed.error.includes(ORDERS_KEY), failed.error);

    assert.equal((await fetch(`${sut.control}/mcp/test/nope`, { method: 'POST' })).status, 404);
    const log = sut.engine.stdout() + sut.engine.stderr();
    for (const secret of [ORDERS_KEY, WEATHER_TOKEN]) assert.ok(!log.includes(secret), 'a secret reached the log');
  });

  it('a barge-in while a tool runs: the answer is kept for the next turn, not spoken over the caller', async () => {
    const before = chatRequests().length;
    // The tool answers only once the caller's next turn has reached the model (the test opens the gate then),
    // so the order of events does not depend on the machine's speed. The sandbox user may read the gate's folder.
    const gates = join(dir, 'gates');
    mkdirSync(gates, { recursive: true });
    chmodSync(gates, 0o755);
    const gate = join(gates, 'c-3');
    deepgram.listen.scripts.push({ heard: ['where is my order C 3', 'hello are you there', 'thank you'] });
    openai.chat.push(
      { toolCalls: [{ name: 'orders__slow_lookup', arguments: { order_id: 'C-3', gate } }] },
      { text: 'Still checking.' },
      { text: 'It was delivered yesterday.' },
    );
    const placed = await sut.peer.placeCall({
      callerId: { number: '4155550100', name: 'E2E' },
      script: [
        waitForAgentSilence(700, 15_000),
        say('tts:where is my order'),
        // The filler starts: the caller talks over it.
        waitForAgent(15_000),
        say('tts:hello are you there'),
        waitForAgent(15_000),
        // The gate opened when this turn reached the model: the answer is in by the time "Still checking." ends.
        waitForAgentSilence(700, 15_000),
        say('tts:thank you'),
        waitForAgent(15_000),
        waitForAgentSilence(700, 15_000),
        hangup(),
      ],
    });
    const opened = (async () => {
      const deadline = Date.now() + 30_000;
      while (chatRequests().length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      writeFileSync(gate, '');
    })();
    await placed.done;
    await opened;
    const [record] = await finishedCalls(sut.control, 1, 20_000);
    const chats = chatRequests().slice(before);
    // No second round of the talked-over reply: one request per caller turn.
    assert.equal(chats.length, 3, JSON.stringify(chats.map((c) => c.messages.slice(-3))));
    // The caller's next turn went out while the tool ran: its call is answered by a stand-in, in its place.
    const second = chats[1]!.messages;
    const standIn = second.findIndex((m) => m.role === 'tool');
    assert.equal(second[standIn]!.content, PENDING_ANSWER);
    assert.equal(second[standIn - 1]!.role, 'assistant');
    assert.equal(second.at(-1)!.content, 'hello are you there');
    // The answer came later and is in the turn after.
    const third = chats[2]!.messages.find((m) => m.role === 'tool' && m.tool_call_id === second[standIn]!.tool_call_id);
    assert.match(third?.content ?? '', /Order C-3 was delivered yesterday\.$/);
    const agent = record!.turns.filter((t) => t.speaker === 'agent');
    // The filler was what the caller talked over; history and record keep what was heard of it.
    assert.ok(agent.some((t) => t.interrupted && t.text && 'One moment while I check.'.startsWith(t.text)), JSON.stringify(agent));
  });

  it('POST /mcp/test refuses a remote caller without credentials, and answers one with the token', { skip: !netns && 'needs root for ip netns' }, async () => {
    const peer = await createRemotePeer();
    try {
      const port = new URL(sut.control).port;
      const post = async (headers: Record<string, string>) =>
        JSON.parse(
          await peer.runNode(`const r = await fetch('http://${peer.hostAddress}:${port}/mcp/test/weather', { method: 'POST', headers: ${JSON.stringify(headers)} });
            process.stdout.write(JSON.stringify({ status: r.status, body: await r.json() }));`),
        ) as { status: number; body: { ok?: boolean; error?: string } };
      const refused = await post({});
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, 'unauthorized');
      const allowed = await post({ authorization: `Bearer ${CONTROL_TOKEN}` });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.body.ok, true);
    } finally {
      await peer.destroy();
    }
  });
});
