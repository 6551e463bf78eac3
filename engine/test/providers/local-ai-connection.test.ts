// The local AI providers keep working when their pooled connection goes away between calls: the server's
// idle timeout, a server restart, a connection that dies silently. A server that is down stays a clear error.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { parseDocument } from 'yaml';
import { createLogger } from '@ai-agent/common';
import { freePort, REPO_ROOT, startService, type ServiceProcess } from '@ai-agent/common/testing';
import { Resampler } from '@ai-agent/common/audio';
import { LocalAiPool, type LocalAiPoolOptions } from '../../src/providers/local-ai/connection-pool.ts';
import { LocalAiLlm } from '../../src/providers/local-ai/llm.ts';
import { LocalAiStt } from '../../src/providers/local-ai/stt.ts';
import { LocalAiTts } from '../../src/providers/local-ai/tts.ts';
import { prompt8k } from '../pipeline/helpers/audio.ts';

const log = createLogger({ service: 'local-ai-connection-test', level: 'silent' });
/** Short, yet longer than a final takes to decode on a busy 2-core host (the server counts only messages). */
const IDLE_TIMEOUT_MS = 4000;
const IDLE_CLOSE = /closing an idle connection/;
/** A request that never gets its answer must fail the test, not hang it. */
const LIMIT = { timeout: 45_000 };

/** The product's config with one spare decoder per band and, if given, another idle timeout. */
function writeConfig(dir: string, idleTimeoutMs?: number): string {
  const doc = parseDocument(readFileSync(join(REPO_ROOT, 'config/local-ai.yaml'), 'utf8'));
  if (idleTimeoutMs !== undefined) doc.setIn(['server', 'idle_timeout_ms'], idleTimeoutMs);
  doc.setIn(['stt', 'pocketsphinx', 'warm_spares'], 1);
  const file = join(dir, `local-ai-${idleTimeoutMs ?? 'default'}.yaml`);
  writeFileSync(file, doc.toString());
  return file;
}

const idleCloses = (server: ServiceProcess): number => server.stdout().split('\n').filter((l) => IDLE_CLOSE.test(l)).length;

async function startServer(port: number, config: string): Promise<ServiceProcess> {
  const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: String(port), LOCAL_AI_CONFIG: config, LOG_LEVEL: 'info' });
  await proc.waitFor(/local AI server listening/, 30_000);
  return proc;
}

/** A TCP relay between the providers and the server that can make its open connections die. */
interface Relay {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Client-side sockets closed by the client so far. */
  readonly closedByClient: number;
  /**
   * Open connections stop relaying. `reset-on-use`: the next bytes the client sends get the connection
   * closed, as when the server closes it just as a request goes out. `silent`: bytes vanish and nothing is
   * closed, as when the server's host or a middlebox drops the flow.
   */
  sever(mode: 'reset-on-use' | 'silent'): void;
  close(): Promise<void>;
}

async function startRelay(target: number): Promise<Relay> {
  const pairs = new Set<{ client: Socket; upstream: Socket; severed: boolean; closedByRelay: boolean }>();
  let accepted = 0;
  let closedByClient = 0;
  const server: Server = createServer((client) => {
    accepted++;
    const upstream = connect(target, '127.0.0.1');
    const pair = { client, upstream, severed: false, closedByRelay: false };
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => {
      pairs.delete(pair);
      if (!pair.closedByRelay) closedByClient++;
      upstream.destroy();
    });
    upstream.on('close', () => {
      if (!pair.severed) closeByRelay(pair);
    });
  });
  const closeByRelay = (pair: { client: Socket; upstream: Socket; closedByRelay: boolean }): void => {
    pair.closedByRelay = true;
    pair.client.destroy();
    pair.upstream.destroy();
  };
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    get closedByClient() {
      return closedByClient;
    },
    sever(mode) {
      for (const pair of pairs) {
        pair.severed = true;
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        // unpipe() paused the client side: it must still read, to see the client's bytes and its close.
        pair.client.on('data', () => {
          if (mode === 'reset-on-use') closeByRelay(pair);
        }).resume();
      }
    },
    async close() {
      for (const pair of pairs) closeByRelay(pair);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Providers {
  pool: LocalAiPool;
  stt: LocalAiStt;
  tts: LocalAiTts;
  llm: LocalAiLlm;
}

function providers(port: number, extra: Partial<LocalAiPoolOptions> = {}): Providers {
  const pool = new LocalAiPool({ url: `ws://127.0.0.1:${port}`, connectTimeoutMs: 3000, log, ...extra });
  return { pool, stt: new LocalAiStt('local', pool), tts: new LocalAiTts('local', pool), llm: new LocalAiLlm('local', pool) };
}

/** "Goodbye" as an 8 kHz caller says it, at the pipeline's 16 kHz. */
const GOODBYE = (() => {
  const r = new Resampler(8000, 16000);
  const out = r.process(prompt8k('vm-goodbye')).slice();
  r.destroy();
  return out;
})();

/** Speaks GOODBYE into a new STT stream at 4× real time and resolves with the first final. */
async function recognise(stt: LocalAiStt): Promise<string> {
  const stream = await stt.open({ sampleRate: 16000, sourceSampleRate: 8000, language: 'en', signal: AbortSignal.timeout(15_000) });
  try {
    const result = new Promise<string>((resolve, reject) => {
      stream.on('final', resolve);
      stream.on('error', reject);
    });
    result.catch(() => undefined); // a failure is reported by the await below, after the audio
    const audio = new Int16Array(GOODBYE.length + 16000 * 0.6);
    audio.set(GOODBYE);
    for (let i = 0; i < audio.length; i += 320) {
      stream.write(audio.subarray(i, i + 320));
      await new Promise((r) => setTimeout(r, 5));
    }
    stream.finalize();
    return await result;
  } finally {
    stream.close();
  }
}

async function synthesise(tts: LocalAiTts): Promise<number> {
  let samples = 0;
  for await (const chunk of tts.synthesize('Thank you for calling.', { signal: AbortSignal.timeout(15_000) })) samples += chunk.pcm.length;
  return samples;
}

async function reply(llm: LocalAiLlm): Promise<string> {
  let text = '';
  for await (const event of llm.chat([{ role: 'user', content: 'what are your opening hours' }], [], AbortSignal.timeout(15_000))) {
    if (event.type === 'text') text += event.text;
  }
  return text;
}

/** Recognition, synthesis and chat each work. */
async function assertServes(p: Providers): Promise<void> {
  assert.notEqual(await recognise(p.stt), '', 'recognised something');
  assert.ok((await synthesise(p.tts)) > 8000, 'synthesised audio');
  assert.notEqual(await reply(p.llm), '', 'the responder replied');
}

describe('local AI providers across lost connections', () => {
  let dir: string;
  let config: string;
  let port: number;
  /** A server with the default idle timeout, and one that closes idle connections after IDLE_TIMEOUT_MS. */
  let server: ServiceProcess;
  let quick: { proc: ServiceProcess; port: number };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'local-ai-conn-'));
    config = writeConfig(dir);
    port = await freePort();
    const quickPort = await freePort();
    [server, quick] = await Promise.all([
      startServer(port, config),
      startServer(quickPort, writeConfig(dir, IDLE_TIMEOUT_MS)).then((proc) => ({ proc, port: quickPort })),
    ]);
  });
  after(async () => {
    await Promise.all([server?.stop(), quick?.proc.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('the first call after the server closed the idle pooled connection works', LIMIT, async (t) => {
    // The pool pings at its default interval, far longer than this server's idle timeout.
    const p = providers(quick.port);
    t.after(() => p.pool.close());
    await assertServes(p);
    const before = idleCloses(quick.proc);
    while (idleCloses(quick.proc) === before) await new Promise((r) => setTimeout(r, 50));
    await assertServes(p);
  });

  test('the LLM says whether it can write free text: not the server\'s rule dialogue (it answers callers only)', LIMIT, async (t) => {
    const p = providers(port);
    t.after(() => p.pool.close());
    assert.equal(p.llm.capabilities.freeText, false, 'unknown before the first connection: taken as scripted');
    assert.notEqual(await reply(p.llm), '');
    assert.equal(p.llm.capabilities.freeText, false, 'the product\'s server runs its rule dialogue');
    // A server whose hello names a local model (what the product's server says when it runs a GGUF model).
    const model = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    t.after(() => {
      // The server's close waits for its connections: end them, the pool's included.
      for (const ws of model.clients) ws.terminate();
      return new Promise((r) => model.close(r));
    });
    model.on('connection', (ws) => ws.send(JSON.stringify({ type: 'hello', protocol: 1, capabilities: { stt: [], tts: [], voices: [], llm: 'llama' } })));
    await new Promise((r) => model.once('listening', r));
    const withModel = providers((model.address() as AddressInfo).port);
    t.after(() => withModel.pool.close());
    await withModel.pool.acquire().then((lease) => lease.release());
    assert.equal(withModel.llm.capabilities.freeText, true);
  });

  test('pings keep the pooled connection open through the server\'s idle timeout', LIMIT, async (t) => {
    const relay = await startRelay(quick.port);
    const p = providers(relay.port, { keepAliveMs: 500 });
    t.after(async () => {
      await p.pool.close();
      await relay.close();
    });
    await assertServes(p);
    const before = idleCloses(quick.proc);
    await new Promise((r) => setTimeout(r, IDLE_TIMEOUT_MS * 1.5));
    await assertServes(p);
    assert.equal(idleCloses(quick.proc), before, 'the server closed no connection');
    assert.equal(relay.accepted, 1, 'one connection served both calls');
  });

  test('a connection that dies silently is noticed by its pings and replaced', LIMIT, async (t) => {
    const relay = await startRelay(port);
    const p = providers(relay.port, { keepAliveMs: 200 });
    t.after(async () => {
      await p.pool.close();
      await relay.close();
    });
    assert.ok((await synthesise(p.tts)) > 0);
    relay.sever('silent');
    const deadline = Date.now() + 2000;
    while (relay.closedByClient === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(relay.closedByClient, 1, 'the client gave up the unanswered connection');
    await assertServes(p);
    assert.equal(relay.accepted, 2);
  });

  test('a request whose pooled connection closes as it goes out is retried once on a new connection', LIMIT, async (t) => {
    const relay = await startRelay(port);
    const p = providers(relay.port);
    t.after(async () => {
      await p.pool.close();
      await relay.close();
    });
    assert.ok((await synthesise(p.tts)) > 0);
    relay.sever('reset-on-use');
    assert.notEqual(await recognise(p.stt), '');
    relay.sever('reset-on-use');
    assert.ok((await synthesise(p.tts)) > 8000);
    relay.sever('reset-on-use');
    assert.notEqual(await reply(p.llm), '');
    assert.equal(relay.accepted, 4, 'each request went out once more, on a new connection');
  });

  test('after the server is killed and restarted on the same port, calls work; while it is down, they fail clearly', LIMIT, async (t) => {
    const p = providers(port);
    t.after(() => p.pool.close());
    await assertServes(p);
    await server.stop('SIGKILL');

    await assert.rejects(p.stt.open({ sampleRate: 16000, sourceSampleRate: 8000, language: 'en', signal: AbortSignal.timeout(5000) }), /local AI server.*ECONNREFUSED/);
    await assert.rejects(synthesise(p.tts), /local AI server.*ECONNREFUSED/);
    await assert.rejects(reply(p.llm), /local AI server.*ECONNREFUSED/);

    server = await startServer(port, config);
    await assertServes(p);
  });
});
