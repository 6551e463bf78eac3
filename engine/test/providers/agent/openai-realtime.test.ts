// The OpenAI Realtime adapter with the real SDK (OpenAIRealtimeWS) against the local Realtime stand-in, over
// wss with the stand-in's own certificate.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger, providerInstanceSchema } from '@ai-agent/common';
import { mulawDecode, mulawEncode } from '@ai-agent/common/audio';
import { startOpenAiFake, tone, waitUntil, type OpenAiFake } from '@ai-agent/test-peers';
import { OpenAiRealtimeAgent, type OpenAiRealtimeConfig } from '../../../src/providers/openai/realtime.ts';
import type { AgentConnectOptions, AgentSession, ToolCall } from '../../../src/providers/types.ts';

const log = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const KEY = 'sk-test-realtime-key-0123456789';
const FRAME = 320; // 20 ms at 16 kHz

const TOOLS = [{ name: 'hangup', description: 'End the call.', parameters: { type: 'object', properties: {} } }];

function options(overrides: Partial<AgentConnectOptions> = {}): AgentConnectOptions {
  return { instructions: 'You are a test agent.', greeting: '', language: 'en-US', tools: TOOLS, signal: new AbortController().signal, ...overrides };
}

/** What a session reported, in order. */
function record(session: AgentSession, rate = 16000) {
  const seen = {
    audioSamples: 0,
    chunks: 0,
    transcripts: [] as Array<[string, string, boolean]>,
    callerSpeech: 0,
    replyDone: 0,
    tools: [] as ToolCall[],
    errors: [] as Error[],
    closed: false,
  };
  session.on('audio', (c) => {
    assert.equal(c.sampleRate, rate);
    seen.audioSamples += c.pcm.length;
    seen.chunks++;
  });
  session.on('transcript', (speaker, text, final) => seen.transcripts.push([speaker, text, final]));
  session.on('callerSpeech', () => seen.callerSpeech++);
  session.on('replyDone', () => seen.replyDone++);
  session.on('toolCall', (c) => seen.tools.push(c));
  session.on('error', (e) => seen.errors.push(e));
  session.on('close', () => (seen.closed = true));
  return seen;
}

/** 16 kHz frames of a loud tone (speech for the stand-in's energy VAD) or silence. */
function frames(ms: number, loud: boolean): Int16Array[] {
  const pcm = loud ? tone({ hz: 300, ms, rate: 16000, amplitude: 0.5 }) : Buffer.alloc((ms * 16000 * 2) / 1000);
  const all = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
  const out: Int16Array[] = [];
  for (let i = 0; i + FRAME <= all.length; i += FRAME) out.push(all.slice(i, i + FRAME));
  return out;
}

describe('OpenAI Realtime agent adapter', () => {
  let fake: OpenAiFake;
  let agent: OpenAiRealtimeAgent;
  let config: OpenAiRealtimeConfig;

  before(async () => {
    fake = await startOpenAiFake({ apiKey: KEY, tls: true });
    config = providerInstanceSchema.parse({ type: 'openai_realtime', base_url: fake.baseURL, voice: 'marin', input_transcription_model: 'gpt-4o-mini-transcribe' }) as OpenAiRealtimeConfig;
    agent = new OpenAiRealtimeAgent('rt', config, { apiKey: KEY, log, ca: fake.ca });
  });
  after(() => fake.close());

  it('sets the session up with instructions, voice, tools and 24 kHz PCM both ways, then greets', async () => {
    fake.realtime.responses.push({ text: 'Hello there, caller.', audio: { ms: 500 } });
    const session = await agent.connect(options({ greeting: 'Hello there, caller.', voice: 'cedar' }));
    const seen = record(session);
    try {
      const handle = fake.realtime.sessions.at(-1)!;
      const s = handle.config;
      assert.equal(s.instructions, 'You are a test agent.');
      assert.equal(s.audio?.output?.voice, 'cedar', 'the context voice wins over the provider default');
      assert.deepEqual(s.audio?.input?.format, { type: 'audio/pcm', rate: 24000 });
      assert.deepEqual(s.audio?.output?.format, { type: 'audio/pcm', rate: 24000 });
      assert.equal(s.audio?.input?.transcription?.model, 'gpt-4o-mini-transcribe');
      assert.equal(s.audio?.input?.turn_detection?.type, 'server_vad');
      assert.deepEqual(s.tools?.map((t) => ('name' in t ? t.name : '')), ['hangup']);
      assert.equal(fake.requests.at(-1)!.query.model, 'gpt-realtime');
      const create = (await waitUntil(() => handle.received.find((e) => e.type === 'response.create'))) as { response?: { instructions?: string } };
      assert.match(create.response?.instructions ?? '', /Hello there, caller\./);
      await waitUntil(() => seen.replyDone === 1);
      // 500 ms at 24 kHz arrives as 500 ms at 16 kHz (the resampler keeps a few samples of filter delay).
      assert.ok(Math.abs(seen.audioSamples - 8000) <= 64, `got ${seen.audioSamples} samples at 16 kHz`);
      assert.deepEqual(seen.transcripts.at(-1), ['agent', 'Hello there, caller.', true]);
    } finally {
      session.close();
    }
    await waitUntil(() => seen.closed);
  });

  it('streams caller audio at 24 kHz; server VAD speech → callerSpeech, caller transcript, and a reply', async () => {
    fake.realtime.transcripts.push('what are your opening hours');
    fake.realtime.responses.push({ text: 'We open at nine.', audio: { ms: 300 } });
    const session = await agent.connect(options());
    const seen = record(session);
    try {
      const handle = fake.realtime.sessions.at(-1)!;
      const sent = [...frames(400, false), ...frames(600, true), ...frames(800, false)];
      for (const f of sent) session.writeAudio(f);
      await waitUntil(() => seen.replyDone === 1);
      // 1800 ms of 16 kHz frames → 1800 ms of 24 kHz PCM16 (filter delay kept inside the resampler).
      assert.ok(Math.abs(handle.audioBytesReceived - 1800 * 48) <= 256, `received ${handle.audioBytesReceived} bytes`);
      assert.equal(seen.callerSpeech, 1);
      assert.deepEqual(seen.transcripts.find((t) => t[0] === 'caller'), ['caller', 'what are your opening hours', true]);
      assert.deepEqual(seen.transcripts.at(-1), ['agent', 'We open at nine.', true]);
    } finally {
      session.close();
    }
  });

  it('on a µ-law wire: audio/pcmu both ways, the caller\'s bytes reach the API as they were and its bytes come back as sent', async () => {
    // Speech for the stand-in's VAD, then silence to end the turn: µ-law bytes as the wire carries them.
    const speech = tone({ hz: 300, ms: 600, rate: 8000, amplitude: 0.5 });
    const pcm8k = new Int16Array(speech.buffer, speech.byteOffset, speech.length / 2);
    const wireBytes = Buffer.from(mulawEncode(Int16Array.from([...pcm8k, ...new Int16Array(8 * 800)])));
    fake.realtime.responses.push({ text: 'Understood.', audio: { ms: 400 } });
    const session = await agent.connect(options({ wire: { encoding: 'mulaw', sampleRate: 8000 } }));
    const heard: Int16Array[] = [];
    session.on('audio', (c) => heard.push(c.pcm));
    const seen = record(session, 8000);
    try {
      const handle = fake.realtime.sessions.at(-1)!;
      assert.deepEqual(handle.config.audio?.input?.format, { type: 'audio/pcmu' });
      assert.deepEqual(handle.config.audio?.output?.format, { type: 'audio/pcmu' });
      // The transport hands each 20 ms twice: 16 kHz pipeline PCM (silence here: it must not be what is sent) and
      // the wire's own samples.
      const pipeline = new Int16Array(320);
      for (let i = 0; i < wireBytes.length; i += 160) session.writeAudio(pipeline, mulawDecode(wireBytes.subarray(i, i + 160)));
      await waitUntil(() => seen.replyDone === 1);
      assert.ok(Buffer.concat(handle.inputAudio).equals(wireBytes), 'the API got the wire\'s µ-law bytes unchanged');
      const sent = Buffer.concat(handle.sent.flatMap((e) => (e.type === 'response.output_audio.delta' ? [Buffer.from(e.delta, 'base64')] : [])));
      assert.equal(sent.length, 400 * 8);
      const back = Int16Array.from(heard.flatMap((c) => [...c]));
      assert.ok(Buffer.from(mulawEncode(back)).equals(sent), 'its µ-law comes back as 8 kHz samples that encode to the same bytes');
    } finally {
      session.close();
    }
    // A wire the API does not take as it is (16 kHz linear here) goes as 24 kHz PCM.
    const linear = await agent.connect(options({ wire: { encoding: 'linear16', sampleRate: 16000 } }));
    linear.close();
    assert.deepEqual(fake.realtime.sessions.at(-1)!.config.audio?.input?.format, { type: 'audio/pcm', rate: 24000 });
  });

  it('truncate() sends the heard milliseconds of the item being played, and late audio of it is dropped', async () => {
    fake.realtime.responses.push({ text: 'A long answer that goes on and on.', audio: { ms: 2000 }, pace: { betweenChunksMs: 20 } });
    const session = await agent.connect(options());
    const seen = record(session);
    try {
      const handle = fake.realtime.sessions.at(-1)!;
      session.sendText('[DTMF 1]');
      await waitUntil(() => seen.audioSamples >= 16000 * 0.5);
      session.truncate(420);
      const truncate = (await waitUntil(() => handle.received.find((e) => e.type === 'conversation.item.truncate'))) as { audio_end_ms: number; item_id: string; content_index: number };
      assert.equal(truncate.audio_end_ms, 420);
      assert.equal(truncate.content_index, 0);
      await waitUntil(() => handle.sent.some((e) => e.type === 'conversation.item.truncated'));
      assert.ok(handle.received.some((e) => e.type === 'response.cancel'), 'the response still streaming is cancelled');
      await waitUntil(() => seen.replyDone === 1);
      const after = seen.audioSamples;
      assert.ok(after < 16000 * 2, 'audio of the cut item stopped');
      assert.equal(seen.errors.length, 0);
      const user = handle.received.find((e) => e.type === 'conversation.item.create') as { item: { content: Array<{ text: string }> } };
      assert.equal(user.item.content[0]!.text, '[DTMF 1]');
    } finally {
      session.close();
    }
  });

  it('truncate() never reports more than the audio the API sent for the item', async () => {
    fake.realtime.responses.push({ text: 'Short.', audio: { ms: 300 } });
    const session = await agent.connect(options());
    const seen = record(session);
    try {
      const handle = fake.realtime.sessions.at(-1)!;
      session.sendText('hi');
      await waitUntil(() => seen.replyDone === 1);
      session.truncate(5000);
      const truncate = (await waitUntil(() => handle.received.find((e) => e.type === 'conversation.item.truncate'))) as { audio_end_ms: number };
      assert.equal(truncate.audio_end_ms, 300);
      await waitUntil(() => handle.sent.some((e) => e.type === 'conversation.item.truncated'));
      assert.equal(seen.errors.length, 0);
    } finally {
      session.close();
    }
  });

  it('a tool call comes out when the response is done; its result goes back and starts the next response', async () => {
    fake.realtime.responses.push({ toolCalls: [{ id: 'call_1', name: 'hangup', arguments: { reason: 'done' } }] });
    fake.realtime.responses.push({ text: 'Goodbye.', audio: { ms: 200 } });
    const session = await agent.connect(options());
    const seen = record(session);
    try {
      const handle = fake.realtime.sessions.at(-1)!;
      session.sendText('bye');
      const [call] = await waitUntil(() => (seen.tools.length ? seen.tools : null));
      assert.deepEqual(call, { id: 'call_1', name: 'hangup', arguments: '{"reason":"done"}' });
      session.sendToolResult('call_1', 'The call has ended.');
      await waitUntil(() => seen.replyDone === 2);
      const output = handle.received.find((e) => e.type === 'conversation.item.create' && (e as { item: { type: string } }).item.type === 'function_call_output') as { item: { call_id: string; output: string } };
      assert.deepEqual([output.item.call_id, output.item.output], ['call_1', 'The call has ended.']);
      assert.equal(handle.received.filter((e) => e.type === 'response.create').length, 2);
      assert.deepEqual(seen.transcripts.at(-1), ['agent', 'Goodbye.', true]);
    } finally {
      session.close();
    }
  });

  it('a vendor error event mid-call → error; a dropped socket → close; nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      fake.realtime.responses.push({ text: 'This will fail.', fault: { kind: 'error', afterChunks: 1, code: 'server_error' } });
      const first = await agent.connect(options());
      const seen1 = record(first);
      first.sendText('hi');
      await waitUntil(() => seen1.errors.length > 0);
      assert.match(seen1.errors[0]!.message, /OpenAI Realtime/);
      first.close();
      await waitUntil(() => seen1.closed);

      const second = await agent.connect(options());
      const seen2 = record(second);
      fake.realtime.sessions.at(-1)!.drop();
      await waitUntil(() => seen2.closed);
      second.writeAudio(new Int16Array(FRAME)); // after close: ignored, no throw
      second.close();
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a wrong key is a clear error naming OPENAI_API_KEY; the secret is not in it', async () => {
    const wrong = new OpenAiRealtimeAgent('rt', config, { apiKey: 'sk-wrong-key-abcdef', log, ca: fake.ca });
    await assert.rejects(wrong.connect(options()), (err: Error) => {
      assert.match(err.message, /refused the API key \(HTTP 401\): check OPENAI_API_KEY/);
      assert.ok(!err.message.includes('sk-wrong'));
      return true;
    });
  });

  it('a refused upgrade (HTTP 500) and an aborted connect both reject', async () => {
    fake.realtime.connections.push({ reject: { kind: 'status', status: 500 } });
    await assert.rejects(agent.connect(options()), /OpenAI Realtime/);
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(agent.connect(options({ signal: abort.signal })), /aborted/);
  });
});
