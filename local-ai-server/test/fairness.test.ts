// One abusive client must not stall another: a real server process, an abuser on raw sockets and a well-behaved
// client whose latency is measured on its own socket.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startService, type ServiceProcess } from '@ai-agent/common/testing';
import { LocalAiClient } from '../src/client.ts';

const TOKEN = 'fairness-token-0123456789abcdef';
/**
 * The stated bound: a chat reply (dialogue engine, a few ms of work) while another client sends maximal chat
 * frames. Measured 0.35 s worst on a quiet 2-core host (before the fix: 29 s); the margin is for a busy host.
 */
const REPLY_BOUND_MS = 1500;

/** Words that defeat any cache: a seeded generator, so each run sends the same text. */
function noiseText(chars: number, seed: number): string {
  let x = seed;
  const words: string[] = [];
  let length = 0;
  while (length < chars - 10) {
    let w = '';
    const n = 3 + (x % 7);
    for (let i = 0; i < n; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      w += String.fromCharCode(97 + (x % 26));
    }
    words.push(w);
    length += w.length + 1;
  }
  return words.join(' ');
}

function rawClient(url: string, token = TOKEN): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', () => reject(new Error('refused')));
    ws.once('error', reject);
  });
}

/** Server-to-client WebSocket frames (unmasked) in `data`: how many are text frames containing `marker`. */
function countTextFrames(data: Buffer, marker: string): number {
  let count = 0;
  for (let at = 0; at + 2 <= data.length; ) {
    let length = data[at + 1]! & 0x7f;
    let header = 2;
    if (length === 126) [length, header] = [data.readUInt16BE(at + 2), 4];
    else if (length === 127) [length, header] = [Number(data.readBigUInt64BE(at + 2)), 10];
    if ((data[at]! & 0x0f) === 1 && data.subarray(at + header, at + header + length).includes(marker)) count++;
    at += header + length;
  }
  return count;
}

/** A client-to-server WebSocket text frame (masked), for a client that never reads. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  return Buffer.concat([head, mask, payload.map((b, i) => b ^ mask[i % 4]!)]);
}

async function chatLatency(client: LocalAiClient): Promise<number> {
  const start = performance.now();
  for await (const ev of client.chat([{ role: 'user', content: 'I forgot my password' }])) if (ev.type === 'done') break;
  return performance.now() - start;
}

describe('fairness between clients of one server process', () => {
  let proc: ServiceProcess;
  let url: string;
  let victim: LocalAiClient;

  before(async () => {
    // Three decoders server-wide, so taking "all but one" costs the test two recognizer processes.
    proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0', LOCAL_WS_AUTH_TOKEN: TOKEN, LOCAL_STT_MAX_STREAMS: '3' });
    const line = await proc.waitFor(/local AI server listening/);
    url = `ws://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
    victim = await LocalAiClient.connect(url, { token: TOKEN });
  });
  after(async () => {
    await victim?.close();
    await proc?.stop();
  });

  it(`keeps another client's chat reply under ${REPLY_BOUND_MS} ms while one client sends maximal chat frames`, async () => {
    const baseline: number[] = [];
    for (let i = 0; i < 5; i++) baseline.push(await chatLatency(victim));
    const abuser = await rawClient(url);
    // The largest frame the schema and payload limit allow: 31 user turns of 8 000 characters each.
    const messages = Array.from({ length: 31 }, (_, i) => ({ role: 'user', content: noiseText(7990, i + 1) }));
    for (let id = 1; id <= 3; id++) abuser.send(JSON.stringify({ type: 'chat', id, messages }));
    const during: number[] = [];
    for (let i = 0; i < 8; i++) during.push(await chatLatency(victim));
    abuser.close();
    const worst = Math.max(...during);
    console.log(`chat reply latency (ms): baseline ${baseline.map((v) => v.toFixed(0)).join(" ")}; under abuse ${during.map((v) => v.toFixed(0)).join(" ")}`);
    assert.ok(worst < REPLY_BOUND_MS, `worst reply ${worst.toFixed(0)} ms while another client floods`);
  });

  it('one connection cannot take the last recognition slot from another connection', async () => {
    const abuser = await LocalAiClient.connect(url, { token: TOKEN });
    const held = [await abuser.openStt({ encoding: 'mulaw', sampleRate: 8000 }), await abuser.openStt({ encoding: 'mulaw', sampleRate: 8000 })];
    await assert.rejects(abuser.openStt({ encoding: 'mulaw', sampleRate: 8000 }), /kept for another connection/);
    const mine = await victim.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    await mine.end();
    for (const s of held) await s.end();
    await abuser.close();
  });

  it('bounds the text one connection may queue for synthesis', async () => {
    const abuser = await rawClient(url);
    const errors: string[] = [];
    abuser.on('message', (d, binary) => {
      if (!binary) {
        const msg = JSON.parse(String(d)) as { type: string; code?: string };
        if (msg.type === 'error') errors.push(msg.code!);
      }
    });
    // Six streams of 4 000 characters (~5 minutes of speech) against a 20 000-character queue.
    const text = Array.from({ length: 100 }, (_, i) => `This is queued sentence number ${i} of a flood.`).join(' ').slice(0, 3990);
    for (let id = 1; id <= 6; id++) abuser.send(JSON.stringify({ type: 'tts.start', id, encoding: 'mulaw', sampleRate: 8000, text, end: true }));
    const started = performance.now();
    for await (const chunk of victim.synthesize('Hello there.', { sampleRate: 8000, encoding: 'mulaw' })) if (chunk.length) break;
    const firstAudio = performance.now() - started;
    abuser.terminate();
    // A figure, not a bound: synthesis shares the cores with the flood whatever the gate does.
    console.log(`first synthesized audio for another client during the flood: ${firstAudio.toFixed(0)} ms`);
    assert.ok(errors.includes('busy'), `queue bound never hit: ${errors.join(',')}`);
  });

  it('stops synthesizing for a client that does not read (backpressure), instead of buffering its audio', async () => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    socket.pause();
    // ~9 minutes of 48 kHz audio asked for (≈ 50 MB, 332 sentences), then nothing read for 5 s.
    const text = Array.from({ length: 100 }, (_, i) => `This is queued sentence number ${i} of a flood.`).join(' ').slice(0, 3990);
    for (let id = 1; id <= 4; id++) socket.write(textFrame(JSON.stringify({ type: 'tts.start', id, encoding: 'slin16le', sampleRate: 48000, text, end: true })));
    await new Promise((resolve) => setTimeout(resolve, 5000));
    // What the server had done by now arrives at once when the client reads: without backpressure, every
    // sentence synthesised meanwhile; with it, what the socket buffers could hold.
    const received = Buffer.concat(await new Promise<Buffer[]>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.resume();
      setTimeout(() => resolve(chunks), 300);
    }));
    socket.destroy();
    const sentences = countTextFrames(received.subarray(received.indexOf('\r\n\r\n') + 4), '"tts.sentence"');
    console.log(`sentences delivered to a client that read nothing for 5 s: ${sentences} (${(received.length / 1e6).toFixed(1)} MB)`);
    // Measured: 18 sentences (4.6 MB, the socket buffers) with backpressure; 66 (17 MB in the first 0.3 s) without.
    assert.ok(sentences < 40, `${sentences} sentences were synthesized for a client that read nothing`);
  });

  it("another client's bad tokens on the same address do not lock out a client that holds the token", async () => {
    for (let i = 0; i < 12; i++) await assert.rejects(rawClient(url, 'wrong-token-0123456789abcdef'));
    const client = await LocalAiClient.connect(url, { token: TOKEN });
    assert.ok(client.capabilities.llm);
    await client.close();
  });
});
