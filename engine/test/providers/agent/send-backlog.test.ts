// A speech-to-speech vendor that stops reading the caller's audio: the adapters must not queue it without
// limit. A TCP relay between the real SDK and the local stand-in stops reading from the adapter's socket, so
// the kernel's buffers fill and then the adapter's socket queues; past a few seconds of audio the session
// fails with a clear error (a vendor hearing the caller that late is a failing provider) and closes.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { createLogger, providerInstanceSchema } from '@ai-agent/common';
import { startDeepgramFake, startOpenAiFake, waitUntil, type DeepgramFake, type OpenAiFake } from '@ai-agent/test-peers';
import { DeepgramVoiceAgent, type DeepgramAgentConfig } from '../../../src/providers/deepgram/agent.ts';
import { OpenAiRealtimeAgent, type OpenAiRealtimeConfig } from '../../../src/providers/openai/realtime.ts';
import type { AgentConnectOptions, AgentSession } from '../../../src/providers/types.ts';

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
/** Loopback lets the kernel take about 4 MiB first (some 3 000 frames); this is 10 minutes of audio. */
const MAX_FRAMES = 30_000;

function options(): AgentConnectOptions {
  return { instructions: 'You are a test agent.', greeting: '', language: 'en-US', tools: [], signal: new AbortController().signal };
}

interface Relay {
  port: number;
  /** Stops reading what the adapter sends (what reached the stand-in so far stays delivered). */
  stopReading(): void;
  close(): Promise<void>;
}

/** Relays TCP connections to `targetPort` on loopback, byte for byte (TLS passes through untouched). */
async function startRelay(targetPort: number): Promise<Relay> {
  const fromAdapter = new Set<Socket>();
  const all = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      all.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        all.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    fromAdapter.add(client);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => client.write(d));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    stopReading: () => {
      for (const s of fromAdapter) s.pause();
    },
    close: () => {
      for (const s of all) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Writes 20 ms frames of caller audio as fast as the adapter takes them until it fails; returns the count. */
async function writeUntilError(session: AgentSession, errors: Error[]): Promise<number> {
  const frame = new Int16Array(320).fill(1000);
  let n = 0;
  while (errors.length === 0 && n < MAX_FRAMES) {
    session.writeAudio(frame);
    if (++n % 50 === 0) await yieldToIo();
  }
  return n;
}

function watch(session: AgentSession): { errors: Error[]; closed: () => boolean; closedAfterError: () => boolean } {
  const errors: Error[] = [];
  let closed = false;
  let closedAfterError = false;
  session.on('error', (e) => errors.push(e));
  session.on('close', () => {
    closed = true;
    closedAfterError = errors.length > 0;
  });
  return { errors, closed: () => closed, closedAfterError: () => closedAfterError };
}

describe('agent adapters: a vendor that stops reading the caller audio', () => {
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;

  before(async () => {
    openai = await startOpenAiFake({ apiKey: 'sk-test-backlog-0123456789', tls: true });
    deepgram = await startDeepgramFake({ apiKey: 'dg-test-backlog-0123456789' });
  });
  after(async () => {
    await openai.close();
    await deepgram.close();
  });

  it('OpenAI Realtime: the session fails with a clear error and closes once seconds of audio wait unsent', async () => {
    const relay = await startRelay(openai.port);
    try {
      const config = providerInstanceSchema.parse({ type: 'openai_realtime', base_url: openai.baseURL.replace(`:${openai.port}`, `:${relay.port}`) }) as OpenAiRealtimeConfig;
      const session = await new OpenAiRealtimeAgent('rt', config, { apiKey: 'sk-test-backlog-0123456789', log, ca: openai.ca }).connect(options());
      const seen = watch(session);
      relay.stopReading();
      const frames = await writeUntilError(session, seen.errors);
      assert.equal(seen.errors.length, 1, `no error after ${frames} frames (${(frames / 50).toFixed(0)} s of audio) to a vendor that does not read`);
      assert.match(seen.errors[0].message, /^OpenAI Realtime is not reading the caller's audio: \d+ KiB \(over 3 s of audio\) wait unsent$/);
      await waitUntil(() => seen.closed(), 5000);
      assert.ok(seen.closedAfterError(), "'close' follows the error");
      session.writeAudio(new Int16Array(320));
      assert.equal(seen.errors.length, 1, 'writes after the failure are ignored');
    } finally {
      await relay.close();
    }
  });

  it('Deepgram Voice Agent: the session fails with a clear error and closes once seconds of audio wait unsent', async () => {
    const relay = await startRelay(deepgram.port);
    try {
      const agentUrl = deepgram.environment.agent.replace(`:${deepgram.port}`, `:${relay.port}`);
      const config = providerInstanceSchema.parse({ type: 'deepgram_agent', agent_url: agentUrl, sample_rate: 24000 }) as DeepgramAgentConfig;
      const session = await new DeepgramVoiceAgent('dg', config, { apiKey: deepgram.apiKey, log }).connect(options());
      const seen = watch(session);
      relay.stopReading();
      const frames = await writeUntilError(session, seen.errors);
      assert.equal(seen.errors.length, 1, `no error after ${frames} frames (${(frames / 50).toFixed(0)} s of audio) to a vendor that does not read`);
      assert.match(seen.errors[0].message, /^Deepgram Voice Agent is not reading the caller's audio: \d+ KiB \(over 3 s of audio\) wait unsent$/);
      await waitUntil(() => seen.closed(), 5000);
      assert.ok(seen.closedAfterError(), "'close' follows the error");
      session.writeAudio(new Int16Array(320));
      assert.equal(seen.errors.length, 1, 'writes after the failure are ignored');
    } finally {
      await relay.close();
    }
  });
});
