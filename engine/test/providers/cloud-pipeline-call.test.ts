// A whole call through the conversation with cloud providers chosen by config alone: an RTP caller speaks a
// real prompt, the vendors' fakes (real SDKs in the path) recognise it where it is in the audio, the model
// answers and the caller hears the answer. The same harness runs the local AI server in local-ai-e2e.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { contextSchema, createLogger, providersConfigSchema, validateConfig } from '@ai-agent/common';
import { parseWav, startDeepgramFake, startOpenAiFake, type DeepgramFake, type OpenAiFake } from '@ai-agent/test-peers';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import { prompt8k } from '../pipeline/helpers/audio.ts';
import { closeVad, startCall } from '../pipeline/helpers/harness.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const ENV = { OPENAI_API_KEY: 'sk-cloud-call-0123456789', DEEPGRAM_API_KEY: 'dg-cloud-call-0123456789' };
const SAID = 'hello world';

describe('a call through cloud providers, switched by config', () => {
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;
  let registry: ProviderRegistry;

  before(async () => {
    [openai, deepgram] = await Promise.all([startOpenAiFake({ apiKey: ENV.OPENAI_API_KEY }), startDeepgramFake({ apiKey: ENV.DEEPGRAM_API_KEY })]);
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

  /** Greeting, the caller's line, the answer heard; returns the call's turns and usage. */
  async function converse(stages: { stt: string; llm: string; tts: string }) {
    const context = { greeting: 'Hello, how can I help?', provider: { type: 'pipeline', ...stages } };
    const providers = registry.forContext('default', contextSchema.parse(context));
    const call = await startCall({ providers, context });
    try {
      const greeting = await call.caller.waitForAgentAudio(call.startedAt, 5000);
      assert.ok(greeting !== null, 'greeting heard');
      assert.ok(await call.caller.waitForAgentSilence(greeting, 500, 10_000));
      await call.caller.say(prompt8k('hello-world'));
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
    return { turns: call.sink.turns.map((t) => [t.speaker, t.text]), usage: providers.usage!.snapshot() };
  }

  test('Deepgram STT → OpenAI LLM → Deepgram TTS', async () => {
    deepgram.listen.scripts.push({ heard: [SAID] });
    const { turns, usage } = await converse({ stt: 'dg', llm: 'oa', tts: 'dg' });
    assert.deepEqual(turns.slice(0, 3), [['agent', 'Hello, how can I help?'], ['caller', SAID], ['agent', `You said: ${SAID}`]]);
    assert.ok((usage.stt.dg?.audioSeconds ?? 0) > 2, JSON.stringify(usage));
    assert.equal(usage.llm.oa?.replies, 1);
    assert.ok((usage.tts.dg?.characters ?? 0) >= `You said: ${SAID}`.length);
  });

  test('OpenAI STT → OpenAI LLM → OpenAI TTS', async () => {
    // Keyed on what was received: the words only for an upload that holds the prompt (about 1.3 s of speech).
    openai.transcription.push((req) => {
      const wav = parseWav(req.file.bytes);
      const ms = (wav.data.length / 2 / wav.rate) * 1000;
      return { text: ms > 1000 && ms < 6000 ? SAID : `unexpected ${Math.round(ms)} ms` };
    });
    const { turns, usage } = await converse({ stt: 'oa', llm: 'oa', tts: 'oa' });
    assert.deepEqual(turns.slice(0, 3), [['agent', 'Hello, how can I help?'], ['caller', SAID], ['agent', `You said: ${SAID}`]]);
    assert.ok((usage.llm.oa?.promptTokens ?? 0) > 0);
  });
});
