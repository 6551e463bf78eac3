// The engine's client against a server that misbehaves: it must neither wait forever nor buffer without limit.
// The "server" is a bare WebSocket listener on loopback that says hello and then does what a broken one would.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer, type WebSocket } from 'ws';
import { LocalAiClient } from '../src/client.ts';

const HELLO = JSON.stringify({ type: 'hello', protocol: 1, capabilities: { stt: ['x'], tts: [], voices: [], llm: 'dialogue' } });

describe('local AI client bounds', () => {
  let wss: WebSocketServer;
  let url: string;
  let behaviour: (ws: WebSocket) => void = () => {};

  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    wss.on('connection', (ws) => behaviour(ws));
  });
  after(() => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  });

  it('gives up on a server that never says hello', async () => {
    behaviour = () => {};
    const started = performance.now();
    await assert.rejects(LocalAiClient.connect(url, { timeoutMs: 300 }), /no hello from the server within 300 ms/);
    assert.ok(performance.now() - started < 2000);
  });

  it('fails openStt when the server never answers stt.start, and tells the server to end it', async () => {
    const seen: string[] = [];
    behaviour = (ws) => {
      ws.send(HELLO);
      ws.on('message', (d) => seen.push((JSON.parse(String(d)) as { type: string }).type));
    };
    const client = await LocalAiClient.connect(url, { timeoutMs: 300 });
    await assert.rejects(client.openStt({ encoding: 'mulaw', sampleRate: 8000 }), /not ready within 300 ms/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, ['stt.start', 'stt.end']);
    await client.close();
  });

  it('closes the connection on a message far larger than any the server sends', async () => {
    behaviour = (ws) => {
      ws.send(HELLO);
      setTimeout(() => ws.send(Buffer.alloc(2 * 1024 * 1024, 1)), 20);
    };
    const client = await LocalAiClient.connect(url, { timeoutMs: 1000 });
    const closed = await Promise.race([client.closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 2000))]);
    assert.equal(closed, 'closed');
  });
});
