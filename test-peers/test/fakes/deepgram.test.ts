// The Deepgram fake driven by the real @deepgram/sdk 5.x: live transcription (interim/final,
// SpeechStarted, UtteranceEnd, Finalize, CloseStream, KeepAlive), TTS, the Voice Agent, and failures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DeepgramClient, DeepgramError } from '@deepgram/sdk';
import WebSocket from 'ws';
import { parseWav, silence, startDeepgramFake, tone, waitUntil, type DeepgramFake } from '../../src/fakes/index.ts';

type Message = { type?: string } & Record<string, unknown>;

/** Collects what a Deepgram SDK socket delivers. */
function collect(socket: { on(event: 'message' | 'close' | 'error', cb: (arg: never) => void): void }) {
  const state = { messages: [] as Message[], binary: [] as Buffer[], closeCode: undefined as number | undefined, errors: [] as Error[] };
  socket.on('message', (m: unknown) => {
    if (m instanceof Blob) void m.arrayBuffer().then((b) => state.binary.push(Buffer.from(b)));
    else state.messages.push((typeof m === 'string' ? JSON.parse(m) : m) as Message);
  });
  socket.on('close', (e: { code?: number }) => {
    state.closeCode = e.code;
  });
  socket.on('error', (e: Error) => {
    state.errors.push(e);
  });
  return state;
}

const FRAME_16K = 640; // 20 ms of 16 kHz linear16

describe('Deepgram fake', () => {
  let fake: DeepgramFake;
  let dg: DeepgramClient;

  before(async () => {
    fake = await startDeepgramFake({ apiKey: 'dg-test-key' });
    dg = new DeepgramClient({ apiKey: 'dg-test-key', environment: fake.environment, maxRetries: 0 });
  });
  after(() => fake.close());

  const openListen = async (extra: Record<string, string> = {}, client = dg) => {
    const socket = await client.listen.v1.connect({
      model: 'nova-3',
      encoding: 'linear16',
      sample_rate: 16000,
      reconnectAttempts: 0,
      ...extra,
    });
    const state = collect(socket as never);
    socket.connect();
    await socket.waitForOpen();
    return { socket, state };
  };
  const sendAudio = (socket: { sendMedia(b: Buffer): void }, ms: number): void => {
    const audio = silence(ms, 16000);
    for (let i = 0; i < audio.length; i += FRAME_16K) socket.sendMedia(audio.subarray(i, i + FRAME_16K));
  };

  describe('live transcription (/v1/listen)', () => {
    it('emits SpeechStarted, growing interims, a speech_final result and UtteranceEnd at the scripted audio positions', async () => {
      fake.listen.scripts.push({ utterances: [{ atMs: 500, text: 'I need a plumber', durationMs: 1000 }] });
      const { socket, state } = await openListen({ interim_results: 'true', vad_events: 'true', utterance_end_ms: '1000', endpointing: '300', smart_format: 'true' });
      const session = fake.listen.sessions.at(-1)!;
      assert.equal(session.query.model, 'nova-3');
      assert.equal(session.query.utterance_end_ms, '1000');
      sendAudio(socket, 1400);
      await waitUntil(() => session.audioMs >= 1400);
      assert.ok(!state.messages.some((m) => m.type === 'Results' && m.is_final), 'no final before the endpoint');
      sendAudio(socket, 1600);
      await waitUntil(() => state.messages.some((m) => m.type === 'UtteranceEnd'));

      const types = state.messages.map((m) => m.type);
      assert.equal(types[0], 'SpeechStarted');
      assert.equal(state.messages[0]!.timestamp, 0.5);
      const results = state.messages.filter((m) => m.type === 'Results') as Array<Message & { is_final: boolean; speech_final: boolean; start: number; duration: number; channel: { alternatives: Array<{ transcript: string; words: Array<{ word: string; punctuated_word: string; start: number; end: number }> }> } }>;
      assert.deepEqual(results.map((r) => r.channel.alternatives[0]!.transcript), ['I', 'I need', 'I need a', 'I need a plumber']);
      assert.deepEqual(results.map((r) => r.is_final), [false, false, false, true]);
      const final = results.at(-1)!;
      assert.equal(final.speech_final, true);
      assert.deepEqual([final.start, final.duration], [0.5, 1]);
      assert.deepEqual(final.channel.alternatives[0]!.words.map((w) => [w.word, w.start, w.end]), [['i', 0.5, 0.75], ['need', 0.75, 1], ['a', 1, 1.25], ['plumber', 1.25, 1.5]]);
      const end = state.messages.find((m) => m.type === 'UtteranceEnd')!;
      assert.equal(end.last_word_end, 1.5);

      socket.sendCloseStream({ type: 'CloseStream' });
      await waitUntil(() => state.closeCode !== undefined);
      assert.equal(state.messages.at(-1)!.type, 'Metadata');
      assert.equal(state.messages.at(-1)!.duration, 3);
      assert.equal(state.closeCode, 1000);
      assert.deepEqual(session.received.map((m) => m.type), ['CloseStream']);
    });

    it('Finalize flushes the utterance in progress as a from_finalize final result', async () => {
      fake.listen.scripts.push({ utterances: [{ atMs: 200, text: 'cancel my order please', durationMs: 2000 }] });
      const { socket, state } = await openListen({ interim_results: 'true' });
      sendAudio(socket, 600);
      await waitUntil(() => fake.listen.sessions.at(-1)!.audioMs >= 600);
      socket.sendFinalize({ type: 'Finalize' });
      const flushed = (await waitUntil(() => state.messages.find((m) => m.from_finalize === true))) as Message & { channel: { alternatives: Array<{ transcript: string }> } };
      assert.equal(flushed.is_final, true);
      assert.equal(flushed.speech_final, false);
      assert.equal(flushed.channel.alternatives[0]!.transcript, 'cancel my order please');
      const count = state.messages.length;
      sendAudio(socket, 2000);
      await waitUntil(() => fake.listen.sessions.at(-1)!.audioMs >= 2600);
      await new Promise((r) => setTimeout(r, 30));
      assert.equal(state.messages.length, count, 'nothing more for a flushed utterance');
      socket.close();
    });

    it('refuses a wrong key at the handshake with 401: waitForOpen rejects', async () => {
      const wrong = new DeepgramClient({ apiKey: 'nope', environment: fake.environment });
      const socket = await wrong.listen.v1.connect({ model: 'nova-3', encoding: 'linear16', sample_rate: 16000, reconnectAttempts: 0 });
      socket.on('error', () => undefined);
      socket.connect();
      // The SDK rejects with its error event; the message carries the handshake status.
      await assert.rejects(socket.waitForOpen(), (e: unknown) => /401/.test(String((e as { message?: string }).message)));
      const upgrade = fake.requests.at(-1)!;
      assert.equal(upgrade.path, '/v1/listen');
      assert.equal(upgrade.authorized, false);
      socket.close();
    });

    it('refuses a scripted 429 and a missing sample_rate at the handshake, with dg-error', async () => {
      const handshake = (query: string) =>
        new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve) => {
          const ws = new WebSocket(`${fake.environment.production}/v1/listen?${query}`, { headers: { Authorization: 'Token dg-test-key' } });
          ws.on('error', () => undefined);
          ws.on('unexpected-response', (_req, res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => {
              ws.terminate();
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
            });
          });
        });
      fake.listen.scripts.push({ reject: { kind: 'status', status: 429, retryAfterMs: 2000 } });
      const limited = await handshake('model=nova-3');
      assert.equal(limited.status, 429);
      assert.equal(limited.headers['retry-after'], '2');
      assert.equal((JSON.parse(limited.body) as { err_code: string }).err_code, 'TOO_MANY_REQUESTS');
      const bad = await handshake('model=nova-3&encoding=linear16');
      assert.equal(bad.status, 400);
      assert.match(String(bad.headers['dg-error']), /sample_rate/);
    });

    it('drops the connection at a scripted audio position; the SDK sees an abnormal close', async () => {
      fake.listen.scripts.push({ fault: { kind: 'drop', atMs: 300 } });
      const { socket, state } = await openListen();
      sendAudio(socket, 500);
      await waitUntil(() => state.closeCode !== undefined);
      assert.equal(state.closeCode, 1006);
    });

    it('closes with Deepgram close codes (1011 NET-0000) when scripted', async () => {
      fake.listen.scripts.push({ fault: { kind: 'close', atMs: 100, code: 1011, reason: 'NET-0000' } });
      const { socket, state } = await openListen();
      sendAudio(socket, 200);
      await waitUntil(() => state.closeCode !== undefined);
      assert.equal(state.closeCode, 1011);
    });

    it('a stall keeps the socket open but silent, even on CloseStream', async () => {
      fake.listen.scripts.push({ utterances: [{ atMs: 600, text: 'never heard' }], fault: { kind: 'stall', atMs: 100 } });
      const { socket, state } = await openListen({ vad_events: 'true' });
      sendAudio(socket, 1500);
      await waitUntil(() => fake.listen.sessions.at(-1)!.audioMs >= 1500);
      socket.sendCloseStream({ type: 'CloseStream' });
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(state.messages, []);
      assert.equal(state.closeCode, undefined);
      socket.close();
    });
  });

  describe('idle timeout and KeepAlive', () => {
    let quick: DeepgramFake;
    before(async () => {
      quick = await startDeepgramFake({ apiKey: 'dg-test-key', idleTimeoutMs: 200 });
    });
    after(() => quick.close());

    it('KeepAlive holds a silent stream open; without it Deepgram closes with 1011 NET-0001', async () => {
      const client = new DeepgramClient({ apiKey: 'dg-test-key', environment: quick.environment });
      const { socket, state } = await openListen({}, client);
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 80));
        socket.sendKeepAlive({ type: 'KeepAlive' });
      }
      assert.equal(state.closeCode, undefined, 'still open after 400 ms of KeepAlive');
      await waitUntil(() => quick.listen.sessions.at(-1)!.received.filter((m) => m.type === 'KeepAlive').length === 5);
      await waitUntil(() => state.closeCode !== undefined, 2000);
      assert.equal(state.closeCode, 1011);
    });
  });

  describe('text to speech (/v1/speak)', () => {
    it('streams raw linear16 at the requested rate when container=none', async () => {
      const audio = tone({ hz: 500, ms: 300, rate: 16000 });
      fake.speak.push({ audio: { pcm: audio, rate: 16000 }, pace: { betweenChunksMs: 10 } });
      const response = await dg.speak.v1.audio.generate({ text: 'Hello caller', model: 'aura-2-thalia-en', encoding: 'linear16', sample_rate: 16000, container: 'none' });
      const reader = response.stream()!.getReader();
      const parts: Uint8Array[] = [];
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parts.push(value);
      }
      assert.ok(parts.length >= 2, 'streamed in several chunks');
      assert.deepEqual(Buffer.concat(parts), audio);
      const recorded = fake.requests.at(-1)!;
      assert.deepEqual(recorded.body, { text: 'Hello caller' });
      assert.equal(recorded.query.sample_rate, '16000');
    });

    it('wraps mulaw in a WAV container by default, at 8 kHz', async () => {
      const response = await dg.speak.v1.audio.generate({ text: 'Hi', encoding: 'mulaw' });
      const parsed = parseWav(Buffer.from(await response.arrayBuffer()));
      assert.deepEqual([parsed.encoding, parsed.rate], ['mulaw', 8000]);
      assert.equal(parsed.data.length, 1600, 'default tone: 200 ms minimum');
    });

    it('surfaces 401, 429 and 500 as DeepgramError with the status; retries 429 after retry-after', async () => {
      const wrong = new DeepgramClient({ apiKey: 'nope', environment: fake.environment, maxRetries: 0 });
      await assert.rejects(wrong.speak.v1.audio.generate({ text: 'x', encoding: 'linear16' }), (e: unknown) => e instanceof DeepgramError && e.statusCode === 401);
      fake.speak.push({ fault: { kind: 'status', status: 500 } });
      await assert.rejects(dg.speak.v1.audio.generate({ text: 'x', encoding: 'linear16' }), (e: unknown) => e instanceof DeepgramError && e.statusCode === 500);
      fake.speak.push({ fault: { kind: 'status', status: 429, retryAfterMs: 1000 } });
      await assert.rejects(dg.speak.v1.audio.generate({ text: 'x', encoding: 'linear16' }), (e: unknown) => {
        assert.ok(e instanceof DeepgramError);
        assert.equal(e.statusCode, 429);
        assert.equal((e.body as { err_code: string }).err_code, 'TOO_MANY_REQUESTS');
        return true;
      });
      fake.speak.push({ fault: { kind: 'status', status: 429, retryAfterMs: 1000 } }, {});
      const retrying = new DeepgramClient({ apiKey: 'dg-test-key', environment: fake.environment, maxRetries: 1 });
      const ok = await retrying.speak.v1.audio.generate({ text: 'x', encoding: 'linear16', container: 'none' });
      assert.ok((await ok.arrayBuffer()).byteLength > 0);
    });

    it('drops the body mid-stream: reading it fails', async () => {
      fake.speak.push({ audio: { ms: 1000 }, fault: { kind: 'drop', afterChunks: 2 } });
      const response = await dg.speak.v1.audio.generate({ text: 'x', encoding: 'linear16', container: 'none' });
      await assert.rejects(response.arrayBuffer());
    });
  });

  describe('Voice Agent (/v1/agent/converse)', () => {
    const openAgent = async () => {
      const socket = await dg.agent.v1.connect({ reconnectAttempts: 0 });
      const state = collect(socket as never);
      socket.connect();
      await socket.waitForOpen();
      await waitUntil(() => state.messages.some((m) => m.type === 'Welcome'));
      return { socket, state, session: fake.agent.sessions.at(-1)! };
    };
    const settings = (greeting?: string) => ({
      type: 'Settings' as const,
      audio: { input: { encoding: 'linear16', sample_rate: 16000 }, output: { encoding: 'linear16', sample_rate: 16000, container: 'none' } },
      agent: {
        listen: { provider: { type: 'deepgram', model: 'nova-3' } },
        think: { provider: { type: 'open_ai', model: 'gpt-4o-mini' }, prompt: 'You are helpful.' },
        speak: { provider: { type: 'deepgram', model: 'aura-2-thalia-en' } },
        ...(greeting ? { greeting } : {}),
      },
    });

    it('Welcome, SettingsApplied, a spoken greeting, then a user turn with a client-side function call', async () => {
      fake.agent.scripts.push({ utterances: [{ atMs: 300, text: 'what is the weather in Paris', durationMs: 600 }] });
      fake.agent.replies.push({ thinking: 'need weather', functionCalls: [{ id: 'fc_1', name: 'get_weather', arguments: { city: 'Paris' } }], text: 'It is sunny in Paris.', audio: { ms: 400 } });
      const { socket, state, session } = await openAgent();
      socket.sendSettings(settings('Hello, how can I help?') as never);
      await waitUntil(() => state.messages.filter((m) => m.type === 'AgentAudioDone').length === 1);
      assert.deepEqual(state.messages.map((m) => m.type), ['Welcome', 'SettingsApplied', 'ConversationText', 'AgentStartedSpeaking', 'AgentAudioDone']);
      assert.equal(state.messages[2]!.content, 'Hello, how can I help?');
      await waitUntil(() => state.binary.length > 0);
      const greetingBytes = Buffer.concat(state.binary).length;
      assert.equal(greetingBytes, session.audioBytesSent);

      const audio = silence(1200, 16000);
      for (let i = 0; i < audio.length; i += FRAME_16K) socket.sendMedia(audio.subarray(i, i + FRAME_16K));
      const request = (await waitUntil(() => state.messages.find((m) => m.type === 'FunctionCallRequest'))) as Message & { functions: Array<{ id: string; name: string; arguments: string; client_side: boolean }> };
      assert.deepEqual(request.functions, [{ id: 'fc_1', name: 'get_weather', arguments: '{"city":"Paris"}', client_side: true }]);
      const types = state.messages.map((m) => m.type);
      assert.deepEqual(types.slice(5), ['UserStartedSpeaking', 'ConversationText', 'AgentThinking', 'FunctionCallRequest']);
      assert.equal(state.messages[6]!.role, 'user');
      assert.equal(state.messages[6]!.content, 'what is the weather in Paris');
      socket.sendFunctionCallResponse({ type: 'FunctionCallResponse', id: 'fc_1', name: 'get_weather', content: '{"sky":"sunny"}' });
      await waitUntil(() => state.messages.filter((m) => m.type === 'AgentAudioDone').length === 2);
      const answer = state.messages.filter((m) => m.type === 'ConversationText').at(-1)!;
      assert.deepEqual([answer.role, answer.content], ['assistant', 'It is sunny in Paris.']);
      await waitUntil(() => session.audioBytesSent === greetingBytes + 400 * 32 && Buffer.concat(state.binary).length === session.audioBytesSent);
      assert.equal(session.received.find((m) => m.type === 'FunctionCallResponse')!.content, '{"sky":"sunny"}');
      socket.close();
    });

    it('barge-in: the caller speaking over the agent stops its audio early', async () => {
      fake.agent.scripts.push({ utterances: [{ atMs: 200, text: 'stop', durationMs: 300 }] });
      const { socket, state, session } = await openAgent();
      socket.sendSettings(settings() as never);
      await waitUntil(() => state.messages.some((m) => m.type === 'SettingsApplied'));
      fake.agent.replies.push({ text: 'a very long story', audio: { ms: 5000 }, pace: { betweenChunksMs: 20 } });
      socket.sendInjectUserMessage({ type: 'InjectUserMessage', content: 'tell me a story' });
      await waitUntil(() => state.messages.some((m) => m.type === 'AgentStartedSpeaking'));
      socket.sendInjectAgentMessage({ type: 'InjectAgentMessage', message: 'interjection' });
      await waitUntil(() => state.messages.some((m) => m.type === 'InjectionRefused'));
      const audio = silence(300, 16000);
      for (let i = 0; i < audio.length; i += FRAME_16K) socket.sendMedia(audio.subarray(i, i + FRAME_16K));
      await waitUntil(() => state.messages.some((m) => m.type === 'AgentAudioDone'));
      const types = state.messages.map((m) => m.type);
      assert.ok(types.indexOf('UserStartedSpeaking') < types.indexOf('AgentAudioDone'));
      assert.ok(session.audioBytesSent < 5000 * 32, `audio stopped early (${session.audioBytesSent} bytes)`);
      socket.close();
    });

    it('reports unparsable messages, scripted Error messages, and drops', async () => {
      fake.agent.scripts.push({ fault: { kind: 'error', atMs: 100, code: 'INTERNAL_SERVER_ERROR', description: 'boom' } });
      const first = await openAgent();
      first.socket.sendSettings(settings() as never);
      first.socket.sendKeepAlive({ type: 'KeepAlive' });
      const raw = (first.socket as unknown as { socket: { send(d: string): void } }).socket;
      raw.send('{oops');
      raw.send('null');
      first.socket.sendMedia(silence(200, 16000));
      await waitUntil(() => first.state.messages.filter((m) => m.type === 'Error').length === 3);
      assert.deepEqual(first.state.messages.filter((m) => m.type === 'Error').map((m) => m.code), ['UNPARSABLE_CLIENT_MESSAGE', 'UNPARSABLE_CLIENT_MESSAGE', 'INTERNAL_SERVER_ERROR']);
      assert.ok(first.session.received.some((m) => m.type === 'KeepAlive'));
      first.socket.close();

      fake.agent.scripts.push({ fault: { kind: 'drop', atMs: 100 } });
      const second = await openAgent();
      second.socket.sendSettings(settings() as never);
      second.socket.sendMedia(silence(200, 16000));
      await waitUntil(() => second.state.closeCode !== undefined);
      assert.equal(second.state.closeCode, 1006);
    });
  });
});
