// The listener's guard rails, exercised over real sockets and a real server process.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startService } from '@ai-agent/common/testing';
import { LocalAiClient } from '../src/client.ts';
import { startTestServer, type TestServer } from './harness.ts';

const TOKEN = 'test-token-0123456789abcdef';

const inbox = new WeakMap<WebSocket, { items: string[]; wake?: () => void }>();

/**
 * Opens a raw WebSocket; resolves with the HTTP status of a refused upgrade, or the open socket. Messages are
 * queued from the start: the server's hello can arrive in the same packet as the upgrade response.
 */
function rawConnect(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const box: { items: string[]; wake?: () => void } = { items: [] };
    inbox.set(ws, box);
    ws.on('message', (d) => {
      box.items.push(String(d));
      box.wake?.();
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function nextJson(ws: WebSocket): Promise<Record<string, unknown>> {
  const box = inbox.get(ws)!;
  while (box.items.length === 0) await new Promise<void>((resolve) => (box.wake = resolve));
  return JSON.parse(box.items.shift()!) as Record<string, unknown>;
}

describe('local AI server with a token', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ LOCAL_WS_AUTH_TOKEN: TOKEN }, (cfg) => {
      cfg.server.max_connections = 3;
      cfg.server.max_payload_bytes = 4096;
      cfg.server.allowed_origins = ['https://admin.example'];
      cfg.stt.max_streams = 1;
      cfg.stt.pocketsphinx.warm_spares = 0;
    });
  });
  after(() => t.close());

  it('refuses a missing or wrong token at the upgrade, with one generic answer', async () => {
    assert.equal(await rawConnect(t.url), 401);
    assert.equal(await rawConnect(t.url, { authorization: `Bearer ${TOKEN}x` }), 401);
    assert.equal(await rawConnect(t.url, { authorization: TOKEN }), 401);
    await assert.rejects(LocalAiClient.connect(t.url, { token: 'nope' }), /HTTP 401/);
    assert.ok(t.server.counters.authFailures >= 4);
  });

  it('accepts the right token and says hello with its capabilities', async () => {
    const client = await t.connect(TOKEN);
    assert.deepEqual(client.capabilities.stt, ['pocketsphinx']);
    assert.ok(client.capabilities.voices.includes('slt'));
    assert.equal(client.capabilities.llm, 'dialogue');
    await client.close();
  });

  it('refuses browser origins that are not allowlisted', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal(await rawConnect(t.url, { ...auth, origin: 'https://evil.example' }), 403);
    assert.equal(await rawConnect(t.url, { ...auth, 'sec-fetch-site': 'cross-site' }), 403);
    const ok = await rawConnect(t.url, { ...auth, origin: 'https://admin.example' });
    assert.ok(ok instanceof WebSocket);
    ok.close();
  });

  it('refuses a Host that names a foreign domain (DNS rebinding), on the upgrade and on plain HTTP', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal(await rawConnect(t.url, { ...auth, host: 'rebind.attacker.example' }), 403);
    const local = await rawConnect(t.url, { ...auth, host: `localhost:${t.server.port}` });
    assert.ok(local instanceof WebSocket);
    local.close();
    const health = await fetch(`${t.url.replace('ws:', 'http:')}/health`, { headers: { origin: 'https://evil.example' } });
    assert.equal(health.status, 403);
  });

  it('answers schema violations with an error and keeps the connection usable', async () => {
    const ws = (await rawConnect(t.url, { authorization: `Bearer ${TOKEN}` })) as WebSocket;
    await nextJson(ws); // hello
    const cases: Array<[string, string]> = [
      ['{not json', 'bad_json'],
      ['{"type":"stt.start","id":0,"encoding":"mulaw","sampleRate":8000}', 'invalid_message'],
      ['{"type":"stt.start","id":1,"encoding":"opus","sampleRate":8000}', 'invalid_message'],
      ['{"type":"chat","id":2,"messages":[{"role":"user","content":"hi"}],"extra":true}', 'invalid_message'],
      ['{"type":"launch_missiles"}', 'invalid_message'],
      ['{"type":"tts.text","id":9,"text":"hello"}', 'unknown_stream'],
    ];
    for (const [text, code] of cases) {
      ws.send(text);
      const reply = await nextJson(ws);
      assert.equal(reply.type, 'error', text);
      assert.equal(reply.code, code, text);
    }
    ws.send(Buffer.from([42, 1, 2, 3]));
    assert.equal((await nextJson(ws)).code, 'unknown_stream');
    ws.send('{"type":"ping"}');
    assert.deepEqual(await nextJson(ws), { type: 'pong' });
    ws.close();
  });

  it('rejects odd-length 16-bit audio without closing the stream', async () => {
    const ws = (await rawConnect(t.url, { authorization: `Bearer ${TOKEN}` })) as WebSocket;
    await nextJson(ws);
    ws.send(JSON.stringify({ type: 'stt.start', id: 5, encoding: 'slin16le', sampleRate: 16000 }));
    assert.equal((await nextJson(ws)).type, 'stt.ready');
    ws.send(Buffer.from([5, 1, 2, 3]));
    assert.equal((await nextJson(ws)).code, 'bad_audio');
    ws.send(JSON.stringify({ type: 'stt.end', id: 5 }));
    assert.equal((await nextJson(ws)).type, 'stt.closed');
    ws.close();
  });

  it('closes a connection that sends a frame over the size limit', async () => {
    const ws = (await rawConnect(t.url, { authorization: `Bearer ${TOKEN}` })) as WebSocket;
    await nextJson(ws);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.alloc(5000, 1));
    assert.equal(await closed, 1009);
  });

  it('answers busy when every recognition slot of the server is taken', async () => {
    const a = await t.connect(TOKEN);
    const b = await t.connect(TOKEN);
    const first = await a.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    await assert.rejects(b.openStt({ encoding: 'mulaw', sampleRate: 8000 }), /all recognition streams are in use/);
    await first.end();
    const again = await b.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    await again.end();
    await a.close();
    await b.close();
  });
});

describe('connection limit', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ LOCAL_WS_AUTH_TOKEN: TOKEN }, (cfg) => {
      cfg.server.max_connections = 3;
      cfg.stt.pocketsphinx.warm_spares = 0;
    });
  });
  after(() => t.close());

  it('refuses connections beyond the limit, and takes one again once a connection has closed', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await rawConnect(t.url, auth));
    const open = results.filter((r): r is WebSocket => r instanceof WebSocket);
    assert.equal(open.length, 3);
    assert.deepEqual(results.slice(3), [503, 503]);
    const closed = new Promise((resolve) => open[0]!.once('close', resolve));
    open[0]!.close();
    await closed;
    let again: WebSocket | number = 503;
    for (let tries = 0; tries < 50 && again === 503; tries++) {
      again = await rawConnect(t.url, auth);
      if (again === 503) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(again instanceof WebSocket, `a freed place is taken again (got ${String(again)})`);
    for (const ws of [...open.slice(1), again]) ws.close();
  });
});

describe('idle connections', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({}, (cfg) => {
      cfg.server.idle_timeout_ms = 1000;
      cfg.stt.pocketsphinx.warm_spares = 0;
    });
  });
  after(() => t.close());

  it('closes a silent connection and keeps one that pings', async () => {
    const silent = (await rawConnect(t.url)) as WebSocket;
    const pinging = (await rawConnect(t.url)) as WebSocket;
    const timer = setInterval(() => pinging.send('{"type":"ping"}'), 300);
    const code = await new Promise<number>((resolve) => silent.once('close', (c) => resolve(c)));
    clearInterval(timer);
    assert.equal(code, 1001);
    assert.equal(pinging.readyState, WebSocket.OPEN);
    pinging.close();
  });
});

describe('local AI server process', () => {
  it('refuses to bind off loopback without LOCAL_WS_AUTH_TOKEN', async () => {
    const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_PORT: '0' });
    const code = await proc.exited;
    assert.notEqual(code, 0);
    assert.match(proc.stdout() + proc.stderr(), /LOCAL_WS_AUTH_TOKEN/);
  });

  /** Starts the process expecting it to refuse; returns everything it wrote. */
  async function refusal(env: Record<string, string>): Promise<string> {
    const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0', ...env });
    const code = await proc.exited;
    assert.notEqual(code, 0);
    return proc.stdout() + proc.stderr();
  }

  it('decides on the token actually read: an empty token file or a short token refuses to start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-ai-'));
    try {
      const empty = join(dir, 'token');
      writeFileSync(empty, '');
      assert.match(await refusal({ LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_AUTH_TOKEN_FILE: empty }), /LOCAL_WS_AUTH_TOKEN_FILE: the file it names is empty/);
      assert.match(await refusal({ LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_AUTH_TOKEN: 'x' }), /LOCAL_WS_AUTH_TOKEN: must be at least 16 characters/);
      assert.match(await refusal({ LOCAL_WS_TRUST_LOOPBACK: 'false' }), /LOCAL_WS_AUTH_TOKEN: required when LOCAL_WS_TRUST_LOOPBACK is false/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a secret interpolated into the dialogue, and scrubs its own output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'local-ai-'));
    try {
      const config = join(dir, 'local-ai.yaml');
      const shipped = readFileSync(new URL('../../config/local-ai.yaml', import.meta.url), 'utf8');
      writeFileSync(config, shipped.replace(/^( *)greeting: >-\n(?:\1 +.*\n)+/m, '$1greeting: "Your code is ${LOCAL_WS_AUTH_TOKEN}"\n'));
      const out = await refusal({ LOCAL_AI_CONFIG: config, LOCAL_WS_AUTH_TOKEN: TOKEN });
      assert.match(out, /dialogue\.greeting: \$\{LOCAL_WS_AUTH_TOKEN\} is a secret variable/);
      // A secret in a path the service prints (a config file that does not exist) is masked on its output.
      const leaky = await refusal({ LOCAL_AI_CONFIG: join(dir, `${TOKEN}.yaml`), LOCAL_WS_AUTH_TOKEN: TOKEN });
      assert.match(leaky, /cannot read config file/);
      assert.ok(!(out + leaky).includes(TOKEN), 'the token leaked');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('starts on loopback, reports its engines, and exits cleanly on SIGTERM', async () => {
    const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0' });
    try {
      const line = await proc.waitFor(/local AI server listening/);
      const { port, host } = JSON.parse(line) as { port: number; host: string };
      assert.equal(host, '127.0.0.1');
      assert.match(proc.stdout(), /engines found on this machine/);
      assert.match(proc.stdout(), /"pocketsphinx":"ready"/);
      const client = await LocalAiClient.connect(`ws://127.0.0.1:${port}`);
      await client.close();
    } finally {
      assert.equal(await proc.stop('SIGTERM'), 0);
    }
  });
});
