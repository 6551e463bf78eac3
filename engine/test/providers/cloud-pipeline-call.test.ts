// A whole call through the conversation with cloud providers chosen by config alone: an RTP µ-law caller speaks
// a real prompt, the vendors' fakes (real SDKs in the path) recognise it where it is in the audio, the model
// answers and the caller hears the answer. As the fakes see it, every connection the first turn needs is open
// before that turn (warm start), and Deepgram is sent the caller's own µ-law bytes at 8 kHz. The same harness
// runs the local AI server in local-ai-e2e.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeUlaw } from '@ai-agent/common/audio';
import { contextSchema, createLogger, providersConfigSchema, validateConfig } from '@ai-agent/common';
import { parseWav, startDeepgramFake, startOpenAiFake, type DeepgramFake, type OpenAiFake } from '@ai-agent/test-peers';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import { prompt8k } from '../pipeline/helpers/audio.ts';
import { closeVad, startCall } from '../pipeline/helpers/harness.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const ENV = { OPENAI_API_KEY: 'sk-cloud-call-0123456789', DEEPGRAM_API_KEY: 'dg-cloud-call-0123456789' };
const SAID = 'hello world';
const GREETING = 'Hello, how can I help?';

describe('a call through cloud providers, switched by config', () => {
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;
  let registry: ProviderRegistry;

  before(async () => {
    [openai, deepgram] = await Promise.all([startOpenAiFake({ apiKey: ENV.OPENAI_API_KEY }), startDeepgramFake({ apiKey: ENV.DEEPGRAM_API_KEY, keepAudio: true })]);
    const config = validateConfig(
      { oa: { type: 'openai', base_url: openai.baseURL }, dg: { type: 'deepgram', base_url: deepgram.environment.base } },
      providersConfigSchema,
      ENV,
    );
    registry = new ProviderRegistry(config, log, ENV);
  });
  after(async () => {
    await registry.close();
    await Promise.all([openai.close(), deepgram.close()]);
    await closeVad();
  });

  /** Greeting, the caller's line, the answer heard; returns the call's turns, usage and the caller's timings. */
  async function converse(stages: { stt: string; llm: string; tts: string }, said: Int16Array = prompt8k('hello-world')) {
    const context = { greeting: GREETING, provider: { type: 'pipeline', ...stages } };
    const providers = registry.forContext('default', contextSchema.parse(context));
    const call = await startCall({ providers, context });
    try {
      const greeting = await call.caller.waitForAgentAudio(call.startedAt, 5000);
      assert.ok(greeting !== null, 'greeting heard');
      assert.ok(await call.caller.waitForAgentSilence(greeting, 500, 10_000));
      await call.caller.say(said);
      const answer = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 8000);
      assert.ok(answer !== null, 'the answer was heard');
      assert.ok(await call.caller.waitForAgentSilence(answer, 500, 10_000));
    } finally {
      await call.close();
    }
    // The call's usage went into its record as the conversation ended, once, equal to the counters.
    const recorded = call.sink.events.filter((e) => e.kind === 'usage');
    assert.equal(recorded.length, 1);
    assert.deepEqual(recorded[0]!.kind === 'usage' && recorded[0]!.usage, providers.usage!.snapshot());
    const { speechStartAt, lastSpeechEndAt } = call.caller;
    return { turns: call.sink.turns.map((t) => [t.speaker, t.text]), usage: providers.usage!.snapshot(), speechStartAt, lastSpeechEndAt };
  }

  test('Deepgram STT → OpenAI LLM → Deepgram TTS: warm connections, the wire µ-law to Deepgram', async () => {
    deepgram.listen.scripts.push({ heard: [SAID] });
    const prompt = prompt8k('hello-world');
    const { turns, usage, speechStartAt, lastSpeechEndAt } = await converse({ stt: 'dg', llm: 'oa', tts: 'dg' }, prompt);
    assert.deepEqual(turns.slice(0, 3), [['agent', GREETING], ['caller', SAID], ['agent', `You said: ${SAID}`]]);
    assert.ok((usage.stt.dg?.audioSeconds ?? 0) > 2, JSON.stringify(usage));
    assert.equal(usage.llm.oa?.replies, 1);
    assert.ok((usage.tts.dg?.characters ?? 0) >= `You said: ${SAID}`.length);

    // Warm start. STT: the live socket was open before the caller said a word, while the greeting played.
    const listen = deepgram.requests.find((r) => r.path === '/v1/listen');
    assert.ok(listen && listen.connection.openedAt < speechStartAt, 'the STT socket opened after the caller spoke');
    // LLM and TTS of the first answer: each came on a connection already open (no DNS, TCP or TLS to pay).
    const chat = openai.requests.find((r) => r.path === '/v1/chat/completions');
    assert.ok(chat && chat.connection.earlierRequests > 0, `the model's request opened its own connection: ${JSON.stringify(chat?.connection)}`);
    assert.ok(chat.connection.openedAt < lastSpeechEndAt);
    const speak = deepgram.requests.filter((r) => r.path === '/v1/speak').at(-1);
    assert.ok(speak && speak.connection.earlierRequests > 0, `the answer's speech request opened its own connection: ${JSON.stringify(speak?.connection)}`);

    // The wire's own encoding: µ-law 8 kHz in the query, and the caller's very bytes in the stream (the fake
    // decoded them to find the speech it recognised above).
    const session = deepgram.listen.sessions.at(-1)!;
    assert.deepEqual([session.query.encoding, session.query.sample_rate], ['mulaw', '8000']);
    assert.ok(Math.abs(session.audio.reduce((n, b) => n + b.length, 0) / 8 - session.audioMs) < 1, 'one byte per sample at 8 kHz');
    const received = Buffer.concat(session.audio);
    const sent = new Uint8Array(prompt.length);
    encodeUlaw(prompt, sent);
    // The prompt's 20 ms frames arrive byte for byte (resampled or re-encoded audio would match none). Not all:
    // the engine's jitter buffer may drop a frame to keep its delay down, as it does on a busy host.
    const frames = Array.from({ length: Math.floor(sent.length / 160) }, (_, i) => Buffer.from(sent.subarray(i * 160, (i + 1) * 160)));
    const found = frames.filter((f) => received.indexOf(f) >= 0).length;
    assert.ok(found >= frames.length * 0.9, `${found} of the caller's ${frames.length} µ-law frames are in what Deepgram received`);
  });

  test('OpenAI STT → OpenAI LLM → OpenAI TTS', async () => {
    // Keyed on what was received: the words only for an upload that holds the prompt (about 1.3 s of speech).
    openai.transcription.push((req) => {
      const wav = parseWav(req.file.bytes);
      const ms = (wav.data.length / 2 / wav.rate) * 1000;
      return { text: ms > 1000 && ms < 6000 ? SAID : `unexpected ${Math.round(ms)} ms` };
    });
    const { turns, usage } = await converse({ stt: 'oa', llm: 'oa', tts: 'oa' });
    assert.deepEqual(turns.slice(0, 3), [['agent', GREETING], ['caller', SAID], ['agent', `You said: ${SAID}`]]);
    assert.ok((usage.llm.oa?.promptTokens ?? 0) > 0);
  });
});
