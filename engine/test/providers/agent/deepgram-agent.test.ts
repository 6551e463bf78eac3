// The Deepgram Voice Agent adapter with the real @deepgram/sdk against the local Voice Agent stand-in.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, providerInstanceSchema } from '@ai-agent/common';
import { mulawDecode, mulawEncode } from '@ai-agent/common/audio';
import { startDeepgramFake, tone, waitUntil, type DeepgramFake } from '@ai-agent/test-peers';
import { DeepgramVoiceAgent, type DeepgramAgentConfig } from '../../../src/providers/deepgram/agent.ts';
import type { AgentConnectOptions, AgentSession, ToolCall } from '../../../src/providers/types.ts';

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const KEY = 'dg-test-agent-key-0123456789';
const FRAME = new Int16Array(320); // 20 ms of 16 kHz silence

const TOOLS = [{ name: 'hangup', description: 'End the call.', parameters: { type: 'object', properties: {} } }];

function options(overrides: Partial<AgentConnectOptions> = {}): AgentConnectOptions {
  return { instructions: 'You are a test agent.', greeting: '', language: 'en-US', tools: TOOLS, signal: new AbortController().signal, ...overrides };
}

function record(session: AgentSession, rate = 16000) {
  const seen = { audioSamples: 0, audio: [] as Int16Array[], transcripts: [] as Array<[string, string]>, callerSpeech: 0, replyDone: 0, tools: [] as ToolCall[], errors: [] as Error[], closed: false };
  session.on('audio', (c) => {
    assert.equal(c.sampleRate, rate);
    seen.audioSamples += c.pcm.length;
    seen.audio.push(c.pcm);
  });
  session.on('transcript', (speaker, text) => seen.transcripts.push([speaker, text]));
  session.on('callerSpeech', () => seen.callerSpeech++);
  session.on('replyDone', () => seen.replyDone++);
  session.on('toolCall', (c) => seen.tools.push(c));
  session.on('error', (e) => seen.errors.push(e));
  session.on('close', () => (seen.closed = true));
  return seen;
}

function sendMs(session: AgentSession, ms: number): void {
  for (let i = 0; i < ms / 20; i++) session.writeAudio(FRAME);
}

describe('Deepgram Voice Agent adapter', () => {
  let fake: DeepgramFake;
  const agentFor = (extra: Record<string, unknown> = {}, key = KEY) =>
    new DeepgramVoiceAgent('dg', providerInstanceSchema.parse({ type: 'deepgram_agent', agent_url: fake.environment.agent, ...extra }) as DeepgramAgentConfig, { apiKey: key, log });

  before(async () => {
    fake = await startDeepgramFake({ apiKey: KEY });
  });
  after(() => fake.close());

  it('Settings carry the prompt, tools, speak voice, greeting and linear16 at the configured rate; audio is resampled both ways', async () => {
    const session = await agentFor({ sample_rate: 24000 }).connect(options({ greeting: 'Hi there.', voice: 'aura-2-andromeda-en' }));
    const seen = record(session);
    try {
      const handle = fake.agent.sessions.at(-1)!;
      const s = handle.settings!;
      assert.deepEqual(s.audio.input, { encoding: 'linear16', sample_rate: 24000 });
      assert.deepEqual(s.audio.output, { encoding: 'linear16', sample_rate: 24000, container: 'none' });
      assert.equal(s.agent.greeting, 'Hi there.');
      const think = s.agent.think as { prompt: string; functions: Array<{ name: string }>; provider: { type: string } };
      assert.equal(think.prompt, 'You are a test agent.');
      assert.deepEqual(think.functions.map((f) => f.name), ['hangup']);
      assert.equal(think.provider.type, 'open_ai');
      assert.deepEqual((s.agent.speak as { provider: unknown }).provider, { type: 'deepgram', model: 'aura-2-andromeda-en' });
      // The greeting (default length: 40 ms per character at 24 kHz) arrives as the same duration at 16 kHz.
      await waitUntil(() => seen.replyDone === 1);
      await waitUntil(() => Math.abs(seen.audioSamples - 'Hi there.'.length * 40 * 16) <= 64);
      assert.deepEqual(seen.transcripts, [['agent', 'Hi there.']]);
      sendMs(session, 1000);
      // 1000 ms of 16 kHz frames → 1000 ms at 24 kHz (the resampler keeps its filter delay).
      await waitUntil(() => Math.abs(handle.audioBytes - 1000 * 48) <= 256);
    } finally {
      session.close();
    }
    await waitUntil(() => seen.closed);
  });

  it('on a µ-law wire: mulaw 8000 both ways, the caller\'s bytes reach the agent as they were and its bytes come back as sent', async () => {
    const speech = tone({ hz: 300, ms: 400, rate: 8000, amplitude: 0.5 });
    const wireBytes = Buffer.from(mulawEncode(new Int16Array(speech.buffer, speech.byteOffset, speech.length / 2)));
    const session = await agentFor({ sample_rate: 24000 }).connect(options({ greeting: 'Hi there.', wire: { encoding: 'mulaw', sampleRate: 8000 } }));
    const seen = record(session, 8000);
    try {
      const handle = fake.agent.sessions.at(-1)!;
      assert.deepEqual(handle.settings!.audio.input, { encoding: 'mulaw', sample_rate: 8000 });
      assert.deepEqual(handle.settings!.audio.output, { encoding: 'mulaw', sample_rate: 8000, container: 'none' });
      await waitUntil(() => seen.replyDone === 1);
      const greeting = Buffer.concat(handle.agentAudio);
      assert.equal(greeting.length, 'Hi there.'.length * 40 * 8);
      assert.ok(Buffer.from(mulawEncode(Int16Array.from(seen.audio.flatMap((c) => [...c])))).equals(greeting), 'its µ-law comes back as 8 kHz samples that encode to the same bytes');
      // The 16 kHz pipeline frame is silence: only the wire's own samples carry the tone.
      for (let i = 0; i < wireBytes.length; i += 160) session.writeAudio(FRAME, mulawDecode(wireBytes.subarray(i, i + 160)));
      await waitUntil(() => handle.audioBytes === wireBytes.length);
      assert.ok(Buffer.concat(handle.audio).equals(wireBytes), 'the agent got the wire\'s µ-law bytes unchanged');
    } finally {
      session.close();
    }
  });

  it('caller turn → UserStartedSpeaking, both transcripts, a function call whose result is sent back', async () => {
    fake.agent.scripts.push({ utterances: [{ atMs: 200, text: 'please hang up', durationMs: 400 }] });
    fake.agent.replies.push({ text: 'Done.', functionCalls: [{ id: 'fc_9', name: 'hangup', arguments: { reason: 'asked' } }], audio: { ms: 300 } });
    const session = await agentFor().connect(options());
    const seen = record(session);
    try {
      const handle = fake.agent.sessions.at(-1)!;
      sendMs(session, 800);
      const [call] = await waitUntil(() => (seen.tools.length ? seen.tools : null));
      assert.deepEqual(call, { id: 'fc_9', name: 'hangup', arguments: '{"reason":"asked"}' });
      assert.equal(seen.callerSpeech, 1);
      assert.deepEqual(seen.transcripts[0], ['caller', 'please hang up']);
      session.sendToolResult('fc_9', 'The call has ended.');
      await waitUntil(() => seen.replyDone === 1);
      const response = handle.received.find((m) => m.type === 'FunctionCallResponse')!;
      assert.deepEqual([response.id, response.name, response.content], ['fc_9', 'hangup', 'The call has ended.']);
      assert.deepEqual(seen.transcripts.at(-1), ['agent', 'Done.']);
      assert.ok(Math.abs(seen.audioSamples - 300 * 16) <= 64);
    } finally {
      session.close();
    }
  });

  it('say() and sendText() inject agent and user messages; truncate() stops the rest of the reply (no API to cut context)', async () => {
    fake.agent.replies.push({ text: 'a long story', audio: { ms: 1500 }, pace: { betweenChunksMs: 20 } });
    const session = await agentFor().connect(options());
    const seen = record(session);
    try {
      const handle = fake.agent.sessions.at(-1)!;
      session.sendText('[DTMF 5]');
      await waitUntil(() => seen.audioSamples > 0);
      session.truncate(100);
      const before = seen.audioSamples;
      await waitUntil(() => seen.replyDone === 1);
      assert.equal(seen.audioSamples, before, 'no audio of the cut reply is passed on');
      assert.equal(handle.received.find((m) => m.type === 'InjectUserMessage')?.content, '[DTMF 5]');
      session.say('Thank you for calling. Goodbye!');
      await waitUntil(() => handle.received.some((m) => m.type === 'InjectAgentMessage' && m.message === 'Thank you for calling. Goodbye!'));
      await waitUntil(() => seen.replyDone === 2);
      assert.ok(seen.audioSamples > before, 'the next reply plays again');
    } finally {
      session.close();
    }
  });

  it('a vendor Error → error; a dropped socket → close; nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      fake.agent.scripts.push({ fault: { kind: 'error', atMs: 100, code: 'INTERNAL_SERVER_ERROR', description: 'boom' } });
      const first = await agentFor().connect(options());
      const seen1 = record(first);
      sendMs(first, 200);
      await waitUntil(() => seen1.errors.length > 0);
      assert.match(seen1.errors[0]!.message, /INTERNAL_SERVER_ERROR: boom/);
      first.close();

      fake.agent.scripts.push({ fault: { kind: 'drop', atMs: 100 } });
      const second = await agentFor().connect(options());
      const seen2 = record(second);
      sendMs(second, 200);
      await waitUntil(() => seen2.closed);
      second.writeAudio(FRAME);
      second.close();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a wrong key is a clear error naming DEEPGRAM_API_KEY, without the key', async () => {
    await assert.rejects(agentFor({ connect_timeout_ms: 2000 }, 'dg-wrong-key-xyz').connect(options()), (err: Error) => {
      assert.match(err.message, /refused the API key \(HTTP 401\): check DEEPGRAM_API_KEY/);
      assert.ok(!err.message.includes('dg-wrong-key'));
      return true;
    });
  });
});
