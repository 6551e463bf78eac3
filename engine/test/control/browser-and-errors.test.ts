// Browser-borne requests, signatures over every content type, error bodies and the failure limiter, against a
// real control server on a loopback port (raw HTTP, so Host and odd request lines can be sent as an attacker would).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AuthFailureLimiter, RequestVerifier, loadBrowserPolicy, registerSecret, signRequest } from '@ai-agent/common';
import type { FastifyInstance } from 'fastify';
import { AuthGuard } from '../../src/control/auth-guard.ts';
import { Readiness } from '../../src/control/readiness.ts';
import { buildControlServer, CONTROL_TIMEOUTS, type ControlRoutes } from '../../src/control/server.ts';
import { testLog } from './control-harness.ts';

const TOKEN = 'browser-test-token-0123456789';
const SIGNING_SECRET = 'admin-ui-signing-secret-0123456789abcdef';
const PLANTED = 'planted-secret-value-7f3a9c';

interface Reply { status: number; body: string }

function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A request line and headers exactly as given: what a client library would refuse to send. */
function sendRaw(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.setEncoding('utf8').on('data', (c: string) => (text += c)).on('close', () => resolve(text)).on('error', reject);
  });
}

/** An operator route stand-in that says who called and what body the guard decoded. */
const probe: ControlRoutes = (app, guard) => {
  app.post('/probe', { preHandler: guard.check }, async (request) => ({ by: request.authMethod, body: request.body ?? null }));
};

async function start(env: NodeJS.ProcessEnv, limiter = new AuthFailureLimiter(10, 60_000)): Promise<{ app: FastifyInstance; guard: AuthGuard; port: number }> {
  const guard = new AuthGuard({
    log: testLog,
    token: TOKEN,
    verifier: new RequestVerifier({ callers: new Map([['admin-ui', SIGNING_SECRET]]) }),
    limiter,
    trustLoopback: true,
    env,
  });
  const app = buildControlServer({
    log: testLog,
    guard,
    readiness: new Readiness(),
    version: 'test',
    routes: [probe],
    browserPolicy: loadBrowserPolicy('health', env),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, guard, port: (app.server.address() as { port: number }).port };
}

describe('control API against browser-borne requests (loopback trusted)', () => {
  let server: Awaited<ReturnType<typeof start>>;
  before(async () => (server = await start({ HEALTH_ALLOWED_HOSTS: 'engine.internal' })));
  after(() => server.app.close());

  it('serves loopback callers that name it by address, localhost or an allowlisted name', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'engine.internal', '[::1]:1']) {
      const r = await send(server.port, 'POST', '/probe', { host });
      assert.equal(r.status, 200, host);
      assert.equal(JSON.parse(r.body).by, 'loopback');
    }
  });

  it('refuses a foreign Host (DNS rebinding) on every route, public ones included', async () => {
    for (const [method, path] of [['POST', '/probe'], ['GET', '/health'], ['GET', '/nowhere']]) {
      const r = await send(server.port, method!, path!, { host: `rebind.attacker.example:${server.port}` });
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.deepEqual(Object.keys(JSON.parse(r.body)).sort(), ['error', 'requestId']);
    }
    assert.equal(server.guard.failures.get('foreign_host'), 3, 'each refusal is counted by reason');
  });

  it('refuses a cross-site Origin or Sec-Fetch-Site (CSRF from a page on this host)', async () => {
    const cases: Array<Record<string, string>> = [{ origin: 'https://attacker.example' }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }];
    for (const headers of cases) {
      const r = await send(server.port, 'POST', '/probe', headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
    }
  });

  it('answers a malformed URL with the generic body and a request id, never the path', async () => {
    const r = await send(server.port, 'GET', `/%zz${PLANTED}`);
    assert.equal(r.status, 400);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'requestId']);
    assert.equal(body.error, 'bad request');
    assert.ok(!r.body.includes(PLANTED));
  });

  it('answers an oversized request head with the generic body', async () => {
    const reply = await sendRaw(server.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: ${PLANTED}${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 431 /);
    const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['error', 'requestId']);
    assert.ok(!reply.includes(PLANTED));
  });

  it('closes slow clients (a trickled head, a trickled body) with a generic 408, serving others meanwhile', { timeout: 40_000 }, async () => {
    /**
     * Sends `head`, then one byte of `trickle` a second; resolves with what came back and when the server closed
     * the socket (Infinity if it had not 20 s on: the client gives up then, so a broken limit fails the test).
     */
    const slow = (head: string, trickle: string): Promise<{ text: string; closedAfterMs: number }> =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const socket = connect(server.port, '127.0.0.1', () => socket.write(head));
        let sent = 0;
        const timer = setInterval(() => socket.writable && socket.write(trickle[sent++ % trickle.length]!), 1000);
        let gaveUp = false;
        const deadline = setTimeout(() => ((gaveUp = true), socket.destroy()), 20_000);
        let text = '';
        socket.setEncoding('utf8').on('data', (c: string) => (text += c)).on('error', reject);
        socket.on('close', () => {
          clearInterval(timer);
          clearTimeout(deadline);
          resolve({ text, closedAfterMs: gaveUp ? Infinity : Date.now() - started });
        });
      });
    const head = slow('GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaa\r\n');
    const body = slow('POST /probe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n', '{');
    // Others are served while the two slow clients hold their sockets.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal((await send(server.port, 'GET', '/live')).status, 200);
    const [h, b] = await Promise.all([head, body]);
    for (const [what, r, limit] of [['head', h, CONTROL_TIMEOUTS.headersMs], ['body', b, CONTROL_TIMEOUTS.requestMs]] as const) {
      assert.match(r.text, /^HTTP\/1\.1 408 /, `${what}: ${r.text}`);
      assert.match(r.text, /"requestId":"[0-9a-f-]{36}"/, what);
      assert.ok(r.closedAfterMs >= limit - 100 && r.closedAfterMs < limit + CONTROL_TIMEOUTS.checkEveryMs + 1500, `${what} closed after ${r.closedAfterMs} ms`);
    }
  });

  it('decodes JSON only after the caller is known, and refuses other body types generically', async () => {
    const ok = await send(server.port, 'POST', '/probe', { 'content-type': 'application/json' }, '{"a":1}');
    assert.deepEqual(JSON.parse(ok.body).body, { a: 1 });
    const bad = await send(server.port, 'POST', '/probe', { 'content-type': 'application/json' }, `{"${PLANTED}`);
    assert.equal(bad.status, 400);
    assert.ok(!bad.body.includes(PLANTED));
    const text = await send(server.port, 'POST', '/probe', { 'content-type': 'text/plain' }, 'hello');
    assert.equal(text.status, 415);
    assert.deepEqual(Object.keys(JSON.parse(text.body)).sort(), ['error', 'requestId']);
  });
});

describe('control API with loopback trust turned off (HEALTH_TRUST_LOOPBACK=false)', () => {
  let server: Awaited<ReturnType<typeof start>>;
  before(async () => (server = await start({ HEALTH_TRUST_LOOPBACK: 'false' }, new AuthFailureLimiter(3, 60_000))));
  after(() => server.app.close());

  it('asks a loopback caller for credentials', async () => {
    assert.equal((await send(server.port, 'POST', '/probe')).status, 401);
    const r = await send(server.port, 'POST', '/probe', { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).by, 'token');
  });

  it('a signature covers the raw body of every content type', async () => {
    const signedEmpty = signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/probe', body: '' });
    const swapped = await send(server.port, 'POST', '/probe', { ...signedEmpty, 'content-type': 'text/plain' }, 'another body');
    assert.equal(swapped.status, 401, 'a body the signature does not cover is refused');
    const body = 'signed text';
    const signed = signRequest('admin-ui', SIGNING_SECRET, { method: 'POST', path: '/probe', body });
    const exact = await send(server.port, 'POST', '/probe', { ...signed, 'content-type': 'text/plain' }, body);
    assert.equal(exact.status, 415, 'authenticated, then refused for its type');
  });

  it('a blocked source is refused early, but a caller holding the token is still served', async () => {
    let last: Reply | undefined;
    for (let i = 0; i < 5; i++) last = await send(server.port, 'POST', '/probe', { authorization: 'Bearer wrong-token-0123456789' });
    assert.equal(last!.status, 429);
    const r = await send(server.port, 'POST', '/probe', { authorization: `Bearer ${TOKEN}` });
    assert.equal(r.status, 200);
  });

  it('a reloaded failure limit applies at once', async () => {
    server.guard.setFailureLimit(1000);
    const r = await send(server.port, 'POST', '/probe', { authorization: 'Bearer wrong-token-0123456789' });
    assert.equal(r.status, 401, 'under the new, higher limit the source is no longer blocked');
  });
});

describe('HEALTH_ALLOWED_HOSTS and HEALTH_TRUST_LOOPBACK validation', () => {
  it('names the key of a bad value', () => {
    registerSecret(PLANTED);
    assert.throws(() => loadBrowserPolicy('health', { HEALTH_ALLOWED_HOSTS: 'http://x.example/' }), /HEALTH_ALLOWED_HOSTS/);
    assert.throws(
      () => new AuthGuard({ log: testLog, token: undefined, verifier: new RequestVerifier({ callers: new Map() }), limiter: new AuthFailureLimiter(), trustLoopback: true, env: { HEALTH_TRUST_LOOPBACK: 'maybe' } }),
      /HEALTH_TRUST_LOOPBACK/,
    );
  });
});
