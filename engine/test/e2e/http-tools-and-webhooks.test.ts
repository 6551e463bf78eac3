// HTTP tools and webhooks through the real engine process: Asterisk is the test peer, STT/TTS the Deepgram
// stand-in and the model the OpenAI stand-in (real SDKs in the engine), names resolve through a DNS server on
// loopback, the webhook receiver speaks HTTPS with a certificate for its name only (so the pinned connection
// must still verify the name). A call: the pre-call lookup fills the greeting and prompt, the model calls an
// HTTP tool and its mapped answer is in the next model request, the post-call event arrives signed. Then the
// receiver fails, a call ends, the engine restarts, and the event left in the outbox is delivered once.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RequestVerifier } from '@ai-agent/common';
import {
  createLoopbackCertificate,
  hangup,
  say,
  startDeepgramFake,
  startDnsFake,
  startOpenAiFake,
  waitForAgent,
  waitForAgentSilence,
  type DeepgramFake,
  type DnsFake,
  type OpenAiFake,
} from '@ai-agent/test-peers';
import { finishedCalls, startEngine, type EngineUnderTest } from './helpers.ts';
import { startTestServer, type TestServer } from '../egress/helpers.ts';

const OPENAI_KEY = 'sk-e2e-tools-0123456789abcdef';
const DEEPGRAM_KEY = 'dg-e2e-tools-0123456789abcdef';
const CRM_TOKEN = 'crm-e2e-token-7c1f9d2e4b';
const SIGNING_SECRET = 'engine-webhook-secret-0123456789abcdef';
const CALLER = '4155550123';
/** No local AI server runs here: the context uses the stand-ins for every stage. */
const UNUSED_PORT = 9;

interface Hook {
  path: string;
  id: string;
  body: { type: string; id: string; call: Record<string, unknown> };
  valid: boolean;
}

describe('HTTP tools and webhooks in a call', { timeout: 150_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-tools-'));
  const outbox = join(dir, 'outbox');
  let dns: DnsFake;
  let crm: TestServer;
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;
  let receiver: Server;
  let sut: EngineUnderTest;
  const hooks: Hook[] = [];
  let postStatus = 200;

  before(async () => {
    [dns, crm, openai, deepgram] = await Promise.all([
      startDnsFake(),
      startTestServer('127.0.0.1'),
      startOpenAiFake({ apiKey: OPENAI_KEY }),
      startDeepgramFake({ apiKey: DEEPGRAM_KEY }),
    ]);
    dns.set('crm.test', { A: ['127.0.0.1'] });
    dns.set('hooks.test', { A: ['127.0.0.1'] });
    crm.route('/orders/A-17', (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'shipped', delivery: { eta: 'tomorrow', carrier: 'DHL' }, internal: 'x' })),
    );

    const tls = await createLoopbackCertificate(['hooks.test']);
    const ca = join(dir, 'hooks-ca.pem');
    writeFileSync(ca, tls.cert);
    const verifier = new RequestVerifier({ callers: new Map([['engine', SIGNING_SECRET]]) });
    receiver = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => (body += d));
      req.on('end', () => {
        if (req.url === '/post' && postStatus !== 200) return void res.writeHead(postStatus).end();
        const valid = verifier.verify(req.headers, { method: req.method!, path: req.url!, body }).ok;
        hooks.push({ path: req.url!, id: String(req.headers['x-ai-event-id']), body: JSON.parse(body), valid });
        if (req.url === '/pre') res.writeHead(200, { 'content-type': 'application/json' }).end('{"customer_name":"Ada","tier":"gold","unasked":"dropped"}');
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hooksPort = (receiver.address() as AddressInfo).port;

    sut = await startEngine({
      dir,
      name: 'tools',
      localAiPort: UNUSED_PORT,
      telephony: 'transport: rtp\nrtp_format: ulaw',
      providers: `dg: { type: deepgram, base_url: "${deepgram.environment.base}" }\noa: { type: openai, base_url: "${openai.baseURL}" }`,
      sections: [
        'egress:',
        `  dns_servers: ["${dns.server}"]`,
        '  allow: [{ host: crm.test, http: true }, { host: hooks.test }, { cidr: 127.0.0.1/32, http: true }]',
        'webhooks:',
        `  pre_call: { url: "https://hooks.test:${hooksPort}/pre", timeout_ms: 2000, defaults: { customer_name: there, tier: standard } }`,
        `  post_call: { url: "https://hooks.test:${hooksPort}/post" }`,
        `  outbox: { dir: "${outbox}", retry_initial_ms: 100, retry_max_ms: 300 }`,
      ].join('\n'),
      contexts: [
        'default:',
        '  greeting: Hello {{customer_name}}, how can I help?',
        '  system_prompt: You help {{customer_name}}, a {{tier}} customer, on the phone.',
        '  tools: [hangup]',
        '  provider: { type: pipeline, stt: dg, llm: oa, tts: dg }',
        '  http_tools:',
        '    - name: order_status',
        '      description: The status of an order by its number.',
        `      url: "http://crm.test:${crm.port}/orders/{order_id}"`,
        '      headers: { Authorization: "Bearer ${env:CRM_TOKEN}" }',
        '      parameters: { properties: { order_id: { type: string, pattern: "^[A-Z0-9-]{1,12}$" } }, required: [order_id] }',
        '      response: { fields: { status: status, eta: delivery.eta } }',
      ].join('\n'),
      env: { OPENAI_API_KEY: OPENAI_KEY, DEEPGRAM_API_KEY: DEEPGRAM_KEY, CRM_TOKEN, SERVICE_SECRET_ENGINE: SIGNING_SECRET, NODE_EXTRA_CA_CERTS: ca },
    });
  });
  after(async () => {
    await sut?.stop();
    await Promise.all([dns?.close(), crm?.close(), openai?.close(), deepgram?.close()]);
    receiver?.closeAllConnections();
    await new Promise((resolve) => receiver?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const chatRequests = () =>
    openai.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.body as { messages: Array<{ role: string; content?: string; tool_call_id?: string }> });

  async function converse(): Promise<void> {
    deepgram.listen.scripts.push({ heard: ['where is my order A 17'] });
    openai.chat.push({ toolCalls: [{ name: 'order_status', arguments: { order_id: 'A-17' } }] }, { text: 'Your order has shipped and arrives tomorrow.' });
    const call = await sut.peer.placeCall({
      callerId: { number: CALLER, name: 'E2E' },
      script: [waitForAgentSilence(700, 15_000), say('tts:where is my order'), waitForAgent(15_000), waitForAgentSilence(1000, 20_000), hangup()],
    });
    await call.done;
  }

  it('pre-call variables, an HTTP tool answer in the next model request, a signed post-call event', async () => {
    const chatsBefore = chatRequests().length;
    await converse();
    const [record] = await finishedCalls(sut.control, 1, 20_000);

    // Pre-call: the caller's full number went out signed; the answer filled the greeting and the prompt.
    const pre = hooks.find((h) => h.path === '/pre');
    assert.ok(pre?.valid, 'the pre-call request was not signed');
    assert.equal(pre.body.type, 'call.started');
    assert.equal(pre.body.call.caller_number, CALLER);
    assert.equal(record!.turns[0]!.text, 'Hello Ada, how can I help?');
    // Warmed at start as it sounds with the defaults; never synthesised with its {{variables}} as written.
    const spoken = deepgram.requests.filter((r) => r.path === '/v1/speak').map((r) => (r.body as { text: string }).text);
    assert.equal(spoken[0], 'Hello there, how can I help?');
    assert.ok(!spoken.some((t) => t.includes('{{')), `a template was spoken: ${JSON.stringify(spoken)}`);
    const chats = chatRequests().slice(chatsBefore);
    assert.equal(chats.length, 2, JSON.stringify(chats));
    assert.equal(chats[0]!.messages[0]!.content, 'You help Ada, a gold customer, on the phone.');

    // The tool: one request to the CRM with the secret header; its mapped answer is in the next model request.
    const order = crm.requests.filter((r) => r.url === '/orders/A-17');
    assert.equal(order.length, 1);
    assert.equal(order[0]!.headers.authorization, `Bearer ${CRM_TOKEN}`);
    const toolMessage = chats[1]!.messages.find((m) => m.role === 'tool');
    assert.equal(toolMessage?.content, '{"status":"shipped","eta":"tomorrow"}');
    assert.ok(record!.events.some((e) => e.kind === 'tool_call' && e.name === 'order_status'));
    assert.ok(record!.turns.some((t) => t.speaker === 'agent' && t.text === 'Your order has shipped and arrives tomorrow.'));

    // Post-call: the stored record, signed.
    const deadline = Date.now() + 10_000;
    while (!hooks.some((h) => h.path === '/post') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const post = hooks.filter((h) => h.path === '/post');
    assert.equal(post.length, 1);
    assert.ok(post[0]!.valid, 'the post-call event was not signed');
    assert.equal(post[0]!.body.type, 'call.ended');
    assert.equal(post[0]!.body.call.id, record!.id);
    assert.equal(post[0]!.body.call.outcome, 'caller_hangup');
    const events = post[0]!.body.call.events as Array<{ kind: string }>;
    assert.ok(events.some((e) => e.kind === 'usage') && events.some((e) => e.kind === 'tool_call'));
    assert.equal((post[0]!.body.call.turns as unknown[]).length, record!.turns.length);

    const log = sut.engine.stdout() + sut.engine.stderr();
    for (const secret of [CRM_TOKEN, SIGNING_SECRET, OPENAI_KEY]) assert.ok(!log.includes(secret), 'a secret reached the log');
  });

  it('an event left in the outbox while the receiver fails is delivered once after a restart', async () => {
    postStatus = 503;
    await converse();
    const [record] = await finishedCalls(sut.control, 1, 20_000);
    await sut.engine.waitFor(/webhook delivery failed; will retry/, 10_000);
    assert.equal(readdirSync(outbox).filter((f) => f.endsWith('.json')).length, 1, 'the event is not on disk');
    await sut.restart();
    assert.equal(readdirSync(outbox).filter((f) => f.endsWith('.json')).length, 1, 'the event did not survive the restart');
    postStatus = 200;
    await sut.engine.waitFor(/webhook delivered/, 10_000);
    await new Promise((r) => setTimeout(r, 300));
    const post = hooks.filter((h) => h.path === '/post' && h.body.call.id === record!.id);
    assert.equal(post.length, 1);
    assert.ok(post[0]!.valid);
    assert.equal(readdirSync(outbox).filter((f) => f.endsWith('.json')).length, 0);
  });
});
