// HTTP tools as the model uses them, through the Toolbox (argument validation, then one real request through
// the egress guard to a server on loopback that the test's allowlist opts in explicitly): the URL template, the
// secret header, the mapped answer, the size cap, the timeout, and retries counted on the server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { contextSchema, egressConfigSchema, validateConfig, type ContextConfig } from '@ai-agent/common';
import { startDnsFake, type DnsFake } from '@ai-agent/test-peers';
import { HostResolver } from '../../src/egress/host-resolver.ts';
import { HttpTools } from '../../src/tools/http/http-tools.ts';
import { Toolbox } from '../../src/tools/toolbox.ts';
import type { ToolContext } from '../../src/tools/types.ts';
import { startTestServer, type TestServer } from '../egress/helpers.ts';
import { captureLog, type LoggedLine } from '../store/helpers/log-capture.ts';

const TOKEN = 'crm-secret-token-5f1c2b9a7e';
const ENV = { CRM_TOKEN: TOKEN };

describe('HTTP tools', () => {
  let dns: DnsFake;
  let crm: TestServer;
  let logLines: LoggedLine[];
  let tools: HttpTools;

  before(async () => {
    dns = await startDnsFake();
    crm = await startTestServer('127.0.0.1');
    dns.set('crm.test', { A: ['127.0.0.1'] });
    const { log, lines } = captureLog();
    logLines = lines;
    const egress = validateConfig({ allow: [{ host: 'crm.test', http: true }, { cidr: '127.0.0.1/32', http: true }], dns_servers: [dns.server] }, egressConfigSchema, {});
    tools = new HttpTools({ egress, resolver: new HostResolver(egress.dns_servers), log, env: ENV });
  });
  after(async () => {
    await Promise.all([dns.close(), crm.close()]);
  });

  const base = () => `http://crm.test:${crm.port}`;

  function toolbox(httpTools: unknown[]): { box: Toolbox; context: ContextConfig } {
    const context = validateConfig({ tools: [], http_tools: httpTools }, contextSchema, ENV);
    tools.prepare({ default: context });
    return { box: new Toolbox(context, { transfer: false, sendDtmf: false }, tools.forContext('default', context)), context };
  }

  function run(box: Toolbox, context: ContextConfig, name: string, args: unknown, signal = new AbortController().signal) {
    const ctx: ToolContext = {
      call: { id: 'call-1', context: 'default', transport: 'rtp', codec: 'ulaw' },
      control: { actions: { transfer: false, sendDtmf: false } } as ToolContext['control'],
      context,
      replyText: '',
      say: async () => undefined,
      playedOut: async () => undefined,
      end: () => undefined,
      signal,
    };
    return box.run({ id: 't1', name, arguments: typeof args === 'string' ? args : JSON.stringify(args) }, ctx);
  }

  const lookup = () => ({
    name: 'crm_lookup',
    description: 'Look up a customer by account number.',
    method: 'GET',
    url: `${base()}/customers/{account}?fields={fields}`,
    headers: { Authorization: 'Bearer ${env:CRM_TOKEN}', 'X-Client': 'voice-agent' },
    parameters: {
      type: 'object',
      properties: {
        account: { type: 'string', pattern: '^[0-9A-Za-z./?&#-]{1,20}$', description: 'account number' },
        fields: { type: 'string', enum: ['basic', 'full'] },
      },
      required: ['account'],
    },
    response: { fields: { name: 'customer.name', first_order: 'orders[0].id', tier: 'customer.tier', missing: 'customer.nothing.here', echoed: 'echo' } },
  });

  test('the model sees its schema; a call fills the path and query, sends the secret header, maps the answer', async () => {
    crm.route('/customers/42%2F..%3Fx%26y%23z', (req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ customer: { name: 'Ada Lovelace', tier: 'gold', ssn: '000-00-0000' }, orders: [{ id: 'A-17' }, { id: 'B-2' }], echo: req.headers.authorization }),
      ),
    );
    const { box, context } = toolbox([lookup()]);
    const schema = box.schemas.find((s) => s.name === 'crm_lookup')!;
    assert.deepEqual(Object.keys((schema.parameters as { properties: object }).properties), ['account', 'fields']);
    assert.deepEqual((schema.parameters as { required: string[] }).required, ['account']);

    const result = await run(box, context, 'crm_lookup', { account: '42/..?x&y#z', fields: 'basic' });
    const seen = crm.requests.at(-1)!;
    // Percent-encoded into the path and query: the argument could neither add a segment nor a parameter.
    assert.equal(seen.url, '/customers/42%2F..%3Fx%26y%23z?fields=basic');
    assert.equal(seen.headers.host, `crm.test:${crm.port}`);
    assert.equal(seen.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(seen.headers['x-client'], 'voice-agent');
    // Only the mapped fields reach the model; the secret the server echoed back is masked.
    assert.deepEqual(JSON.parse(result.content), { name: 'Ada Lovelace', first_order: 'A-17', tier: 'gold', missing: null, echoed: 'Bearer [REDACTED]' });
    assert.ok(!result.content.includes(TOKEN));
    const logged = logLines.map((l) => l.json).join('\n');
    assert.ok(!logged.includes(TOKEN), 'the token was logged');
    assert.ok(!logged.includes('42/..') && !logged.includes('42%2F'), 'the arguments were logged');
    assert.match(logLines.at(-1)!.json, /"tool":"crm_lookup".*"host":"crm.test:\d+".*"status":200.*"attempts":1/);
  });

  test('invalid arguments never reach the server: the model gets a short error', async () => {
    const { box, context } = toolbox([lookup()]);
    const before = crm.requests.length;
    const cases: Array<[unknown, RegExp]> = [
      [{ account: 'has space' }, /invalid arguments for crm_lookup: account: must match/],
      [{}, /invalid arguments for crm_lookup: account:/],
      [{ account: '42', extra: 1 }, /invalid arguments for crm_lookup: arguments: Unrecognized key/],
      [{ account: '42', fields: 'secret' }, /invalid arguments for crm_lookup: fields:/],
      [{ account: '..' }, /invalid arguments for crm_lookup: account: is not a valid path value/],
      ['{not json', /the arguments of crm_lookup are not valid JSON/],
    ];
    for (const [args, expected] of cases) {
      const result = await run(box, context, 'crm_lookup', args);
      assert.match(result.content, expected);
      assert.ok(result.content.length < 200, result.content);
    }
    assert.equal(crm.requests.length, before);
  });

  test('an answer over max_response_bytes is cut off while it arrives', async () => {
    let written = 0;
    let closedEarly = false;
    crm.route('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 'x');
      // Written as the client reads: the server stops as soon as the client hangs up.
      res.on('close', () => (closedEarly = !res.writableFinished));
      const pump = (): void => {
        while (written < 4 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const { box, context } = toolbox([{ name: 'big', description: 'A big answer.', url: `${base()}/big`, max_response_bytes: 8192 }]);
    const result = await run(box, context, 'big', {});
    assert.match(result.content, /^error: big failed: the answer from crm\.test:\d+ exceeds 8192 bytes$/);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(closedEarly, 'the server was allowed to send everything');
    assert.ok(written < 4 * 1024 * 1024);
  });

  test('a server that does not answer in timeout_ms fails the call, within the time', async () => {
    crm.route('/slow', () => undefined);
    const { box, context } = toolbox([{ name: 'slow', description: 'Never answers.', url: `${base()}/slow`, timeout_ms: 300 }]);
    const started = performance.now();
    const result = await run(box, context, 'slow', {});
    const ms = performance.now() - started;
    assert.match(result.content, /no complete answer from crm\.test:\d+ within 300 ms/);
    assert.ok(ms >= 290 && ms < 1500, `${ms} ms`);
  });

  test('idempotent requests are retried on 5xx with backoff, counted on the server', async () => {
    let hits = 0;
    crm.route('/flaky', (_req, res) => (++hits <= 2 ? res.writeHead(503).end('busy') : res.writeHead(200).end('{"status":"open"}')));
    const { box, context } = toolbox([
      { name: 'flaky', description: 'Fails twice.', url: `${base()}/flaky`, retries: 2 },
      { name: 'down', description: 'Always fails.', method: 'PUT', url: `${base()}/down`, retries: 1 },
      { name: 'create', description: 'Not idempotent.', method: 'POST', url: `${base()}/down?kind={kind}`, parameters: { properties: { kind: { type: 'string' }, note: { type: 'string' } } } },
    ]);
    const started = performance.now();
    const ok = await run(box, context, 'flaky', {});
    assert.equal(ok.content, '{"status":"open"}');
    assert.equal(hits, 3);
    assert.ok(performance.now() - started >= 150, 'no backoff between attempts');

    crm.route('/down', (_req, res) => res.writeHead(503).end('maintenance'));
    const before = crm.requests.filter((r) => r.url.startsWith('/down')).length;
    const put = await run(box, context, 'down', {});
    assert.equal(put.content, 'error: down answered HTTP 503: maintenance');
    assert.equal(crm.requests.filter((r) => r.url.startsWith('/down')).length - before, 2, 'PUT: one retry');

    const post = await run(box, context, 'create', { kind: 'callback', note: 'after 5pm' });
    assert.equal(post.content, 'error: create answered HTTP 503: maintenance');
    const posts = crm.requests.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 1, 'POST is never retried');
    assert.equal(posts[0]!.url, '/down?kind=callback');
    assert.deepEqual(JSON.parse(posts[0]!.body), { note: 'after 5pm' });
    assert.equal(posts[0]!.headers['content-type'], 'application/json');
  });

  test('without fields the answer itself is read, cut to max_chars', async () => {
    crm.route('/text', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('y'.repeat(500)));
    const { box, context } = toolbox([{ name: 'text', description: 'Plain text.', url: `${base()}/text`, response: { max_chars: 100 } }]);
    const result = await run(box, context, 'text', {});
    assert.equal(result.content, `${'y'.repeat(100)}…[truncated]`);
  });

  test('a call that ends aborts the request at once', async () => {
    crm.route('/hang', () => undefined);
    const { box, context } = toolbox([{ name: 'hang', description: 'Hangs.', url: `${base()}/hang`, timeout_ms: 10_000, retries: 3 }]);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const started = performance.now();
    const result = await run(box, context, 'hang', {}, abort.signal);
    assert.ok(performance.now() - started < 1000);
    assert.match(result.content, /cancelled/);
  });

  test('a header secret missing from the environment names its key', () => {
    const context = validateConfig({ http_tools: [{ ...lookup(), headers: { Authorization: 'Bearer ${env:MISSING_CRM_TOKEN}' } }] }, contextSchema, {});
    assert.throws(() => tools.prepare({ sales: context }), /contexts\.sales\.http_tools\.0\.headers\.Authorization: environment variable MISSING_CRM_TOKEN \(or MISSING_CRM_TOKEN_FILE\) is not set/);
  });
});
