// Test support: a real server on an ephemeral loopback port, real Allison prompts, and a client that speaks
// audio into it the way the engine does (20 ms µ-law frames).
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { createLogger } from '@ai-agent/common';
import { loadLocalAiConfig, type LocalAiConfig } from '../src/config.ts';
import { loadEngines } from '../src/engines.ts';
import { startLocalAiServer, type LocalAiServer } from '../src/server.ts';
import { LocalAiClient, type SttStream } from '../src/client.ts';
import { mulawEncode } from '@ai-agent/common/audio';
import { parseWav } from '../src/audio/wav.ts';
import { Resampler } from '../src/audio/resampler.ts';

export interface TestServer {
  server: LocalAiServer;
  url: string;
  connect(token?: string): Promise<LocalAiClient>;
  close(): Promise<void>;
}

export async function startTestServer(
  env: NodeJS.ProcessEnv = {},
  adjust: (cfg: LocalAiConfig) => void = () => {},
): Promise<TestServer> {
  const fullEnv = { LOCAL_WS_PORT: '0', ...env };
  const cfg = loadLocalAiConfig(fullEnv);
  adjust(cfg);
  const log = createLogger({ service: 'local-ai-server-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const engines = await loadEngines(cfg, log);
  const server = await startLocalAiServer(cfg, engines, log, fullEnv);
  const url = `ws://127.0.0.1:${server.port}`;
  const clients: LocalAiClient[] = [];
  return {
    server,
    url,
    async connect(token?: string) {
      const c = await LocalAiClient.connect(url, { token });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    },
  };
}

/** A prompt recording as 8 kHz G.711 µ-law, as it would arrive from Asterisk. */
export function mulawFile(file: string): Uint8Array {
  const wav = parseWav(readFileSync(file));
  if (wav.sampleRate !== 8000) throw new Error(`${file} is not 8 kHz`);
  return mulawEncode(wav.samples);
}

/** 8 kHz µ-law from 16 kHz slin (e.g. synthesized speech) through the real resampler. */
export async function toMulaw8k(pcm16k: Int16Array): Promise<Uint8Array> {
  const r = Resampler.create(16000, 8000);
  const out = mulawEncode(r.process(pcm16k));
  r.close();
  return out;
}

/** µ-law silence (0xFF is the code for 0). */
export function silence(ms: number): Uint8Array {
  return new Uint8Array((ms / 1000) * 8000).fill(0xff);
}

/** Writes audio as 20 ms frames; with realtime, paced at 20 ms like a phone call. */
export async function speak(stream: SttStream, audio: Uint8Array, realtime = false): Promise<void> {
  const start = performance.now();
  for (let i = 0, n = 0; i < audio.length; i += 160, n++) {
    stream.write(audio.subarray(i, i + 160));
    if (realtime) {
      const due = start + (n + 1) * 20 - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
    } else if (n % 50 === 49) {
      // yield now and then so the socket drains
      await new Promise((r) => setImmediate(r));
    }
  }
}

/** Opens a stream, speaks each utterance followed by silence, and returns all finals in order. */
export async function recognise(
  client: LocalAiClient,
  utterances: Uint8Array[],
  options: Parameters<LocalAiClient['openStt']>[0] = { encoding: 'mulaw', sampleRate: 8000 },
): Promise<string[]> {
  const stream = await client.openStt(options);
  const finals: string[] = [];
  stream.on('final', (text) => finals.push(text));
  for (const u of utterances) {
    await speak(stream, u);
    await speak(stream, silence(700));
  }
  await stream.end();
  return finals;
}

/**
 * One server and one client for the enclosing `describe`: started before its tests, closed after them.
 * `client` is read inside the tests (it exists once `before` has run).
 */
export function suiteClient(): { readonly client: LocalAiClient } {
  let t: TestServer | undefined;
  let client: LocalAiClient | undefined;
  before(async () => {
    t = await startTestServer();
    client = await t.connect();
  });
  after(() => t?.close());
  return {
    get client(): LocalAiClient {
      if (!client) throw new Error('the suite server is not started yet');
      return client;
    },
  };
}
