// What the cloud adapters put on the wire, as the vendors' fakes record it, with the adapters built by the
// registry from config and environment exactly as the engine builds them: Deepgram's live query (nova-3,
// linear16 at the pipeline rate, interim results, endpointing, the context's keyterms), KeepAlive while idle,
// Finalize and CloseStream; OpenAI's chat request (system prompt first, tools as functions, tool rounds),
// speech as 24 kHz PCM with voice instructions only where the model takes them; and the config refusals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contextSchema, createLogger, providersConfigSchema, validateConfig } from '@ai-agent/common';
import { startDeepgramFake, startOpenAiFake, waitUntil, type DeepgramFake, type OpenAiFake } from '@ai-agent/test-peers';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import type { ChatMessage, PipelineProviders } from '../../src/providers/types.ts';
import { refusedAt } from './config-refusal.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const ENV = { OPENAI_API_KEY: 'sk-vendor-requests-0123456789', DEEPGRAM_API_KEY: 'dg-vendor-requests-0123456789' };
const signal = new AbortController().signal;

describe('cloud adapters on the wire', () => {
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;
  let registry: ProviderRegistry;
  let providers: PipelineProviders;

  before(async () => {
    openai = await startOpenAiFake({ apiKey: ENV.OPENAI_API_KEY });
    deepgram = await startDeepgramFake({ apiKey: ENV.DEEPGRAM_API_KEY });
    const config = validateConfig(
      {
        oa: { type: 'openai', base_url: openai.baseURL, tts: { instructions: 'Warm and unhurried.' } },
        oa_old: { type: 'openai', base_url: openai.baseURL, tts: { model: 'tts-1', instructions: 'Ignored here.' } },
        dg: { type: 'deepgram', base_url: deepgram.environment.base, stt: { keepalive_ms: 600 } },
      },
      providersConfigSchema,
      ENV,
    );
    registry = new ProviderRegistry(config, log, ENV);
    const context = contextSchema.parse({ voice: 'shimmer', provider: { type: 'pipeline', stt: 'dg', llm: 'oa', tts: 'oa', keyterms: ['Acme', 'boiler repair'] } });
    providers = registry.forContext('sales', context);
  });
  after(async () => {
    await registry.close();
    await openai.close();
    await deepgram.close();
  });

  it('Deepgram live: nova-3 linear16 at 16 kHz with the context keyterms; KeepAlive while idle, Finalize, CloseStream', async () => {
    deepgram.listen.scripts.push({ utterances: [{ atMs: 100, text: 'boiler repair please', durationMs: 600 }] });
    const stream = await providers.stt.open({ sampleRate: 16000, sourceSampleRate: 8000, language: 'en-US', signal });
    const finals: string[] = [];
    stream.on('final', (t) => finals.push(t));
    const upgrade = deepgram.requests.filter((r) => r.path === '/v1/listen').at(-1)!;
    assert.ok(upgrade.authorized, 'Token auth');
    assert.deepEqual(upgrade.queryAll.keyterm, ['Acme', 'boiler repair']);
    const q = upgrade.query;
    assert.deepEqual(
      { model: q.model, encoding: q.encoding, sample_rate: q.sample_rate, channels: q.channels, interim_results: q.interim_results, endpointing: q.endpointing, utterance_end_ms: q.utterance_end_ms, vad_events: q.vad_events, language: q.language },
      { model: 'nova-3', encoding: 'linear16', sample_rate: '16000', channels: '1', interim_results: 'true', endpointing: '300', utterance_end_ms: '1000', vad_events: 'true', language: 'en-US' },
    );
    const session = deepgram.listen.sessions.at(-1)!;
    // Nothing written for longer than keepalive_ms: the socket is kept with KeepAlive, not audio.
    await waitUntil(() => session.received.some((m) => m.type === 'KeepAlive'), 2000);
    const frame = new Int16Array(320);
    for (let i = 0; i < 50; i++) stream.write(frame);
    await waitUntil(() => session.audioBytes === 50 * 640);
    stream.finalize();
    await waitUntil(() => session.received.some((m) => m.type === 'Finalize'));
    await waitUntil(() => finals.length > 0);
    stream.close();
    await waitUntil(() => session.closed && session.received.some((m) => m.type === 'CloseStream'));
  });

  it('Deepgram Finalize: pending words flushed at once; unanswered, taken after finalize_timeout_ms; nothing pending, an empty final at once', async () => {
    const frame = new Int16Array(320);
    const open = async () => {
      const stream = await providers.stt.open({ sampleRate: 16000, language: 'en-US', signal });
      const finals: Array<[string, number]> = [];
      stream.on('final', (t) => finals.push([t, Date.now()]));
      return { stream, finals };
    };
    // Mid-utterance (speech from 100 ms, 2 s long): Finalize flushes the words heard so far.
    deepgram.listen.scripts.push({ utterances: [{ atMs: 100, text: 'one two three four five six', durationMs: 2000 }] });
    const a = await open();
    for (let i = 0; i < 50; i++) a.stream.write(frame);
    await waitUntil(() => deepgram.listen.sessions.at(-1)!.sent.some((m) => m.type === 'Results'));
    let asked = Date.now();
    a.stream.finalize();
    await waitUntil(() => a.finals.length === 1);
    assert.equal(a.finals[0]![0], 'one two three four five six');
    assert.ok(a.finals[0]![1] - asked < 500);
    a.stream.finalize();
    assert.deepEqual(a.finals.at(-1)![0], '', 'nothing pending: an empty final without waiting');
    a.stream.close();
    // Deepgram stops answering after an interim result: the interim words are the final after finalize_timeout_ms.
    deepgram.listen.scripts.push({ utterances: [{ atMs: 100, text: 'seven eight nine', durationMs: 1500 }], fault: { kind: 'stall', atMs: 700 } });
    const b = await open();
    for (let i = 0; i < 40; i++) b.stream.write(frame);
    await waitUntil(() => deepgram.listen.sessions.at(-1)!.sent.some((m) => m.type === 'Results'));
    asked = Date.now();
    b.stream.finalize();
    await waitUntil(() => b.finals.length === 1, 3000);
    assert.match(b.finals[0]![0], /^seven/);
    assert.ok(b.finals[0]![1] - asked >= 900, 'waited for the flush');
    b.stream.close();
  });

  it('OpenAI chat: the system prompt leads, tools go as JSON-schema functions, a tool round keeps its ids', async () => {
    openai.chat.push({ text: 'Done.' });
    const history: ChatMessage[] = [
      { role: 'system', content: 'You are a phone assistant.' },
      { role: 'user', content: 'transfer me' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_7', name: 'transfer', arguments: '{"target":"sales"}' }] },
      { role: 'tool', toolCallId: 'call_7', name: 'transfer', content: 'ok' },
    ];
    const tools = [{ name: 'transfer', description: 'Transfer the caller.', parameters: { type: 'object', properties: { target: { type: 'string' } } } }];
    for await (const _ of providers.llm.chat(history, tools, signal));
    const body = openai.requests.filter((r) => r.path === '/v1/chat/completions').at(-1)!.body as Record<string, unknown>;
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.stream, true);
    assert.deepEqual(body.tools, [{ type: 'function', function: tools[0] }]);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You are a phone assistant.' },
      { role: 'user', content: 'transfer me' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'transfer', arguments: '{"target":"sales"}' } }] },
      { role: 'tool', tool_call_id: 'call_7', content: 'ok' },
    ]);
  });

  it('OpenAI speech: 24 kHz PCM resampled to the rate asked, the context voice, instructions only where the model takes them', async () => {
    let samples = 0;
    for await (const chunk of providers.tts.synthesize('Twelve chars', { voice: 'shimmer', sampleRate: 8000, signal })) {
      assert.equal(chunk.sampleRate, 8000);
      samples += chunk.pcm.length;
    }
    // The fake speaks 40 ms per character: 480 ms, plus the 10 ms that flush the resampler.
    assert.ok(Math.abs(samples - 8 * 490) <= 16, `${samples} samples`);
    const speech = () => openai.requests.filter((r) => r.path === '/v1/audio/speech').at(-1)!.body as Record<string, unknown>;
    assert.deepEqual(speech(), { model: 'gpt-4o-mini-tts', voice: 'shimmer', input: 'Twelve chars', response_format: 'pcm', instructions: 'Warm and unhurried.' });
    const old = registry.forContext('x', contextSchema.parse({ provider: { type: 'pipeline', stt: 'dg', llm: 'oa', tts: 'oa_old' } }));
    for await (const _ of old.tts.synthesize('Hi.', { signal }));
    assert.deepEqual(speech(), { model: 'tts-1', voice: 'alloy', input: 'Hi.', response_format: 'pcm' });
  });

  it('Deepgram speak: the aura-2 voice as model, raw linear16 at the rate asked', async () => {
    const dg = registry.forContext('x', contextSchema.parse({ provider: { type: 'pipeline', stt: 'dg', llm: 'oa', tts: 'dg' } }));
    for await (const _ of dg.tts.synthesize('Hello.', { sampleRate: 16000, signal }));
    const speak = deepgram.requests.filter((r) => r.path === '/v1/speak').at(-1)!;
    assert.deepEqual(speak.query, { model: 'aura-2-thalia-en', encoding: 'linear16', sample_rate: '16000', container: 'none' });
    assert.deepEqual(speak.body, { text: 'Hello.' });
  });
});

describe('usage per call', () => {
  it('counts audio seconds to the STT, characters to the TTS and each reply\'s tokens, per provider and per call', async () => {
    const openai = await startOpenAiFake({ apiKey: ENV.OPENAI_API_KEY });
    const deepgram = await startDeepgramFake({ apiKey: ENV.DEEPGRAM_API_KEY });
    const config = validateConfig({ oa: { type: 'openai', base_url: openai.baseURL }, dg: { type: 'deepgram', base_url: deepgram.environment.base } }, providersConfigSchema, ENV);
    const registry = new ProviderRegistry(config, log, ENV);
    try {
      const context = contextSchema.parse({ provider: { type: 'pipeline', stt: 'dg', llm: 'oa', tts: 'dg' } });
      const call = registry.forContext('sales', context);
      const other = registry.forContext('sales', context);
      const stt = await call.stt.open({ sampleRate: 16000, language: 'en-US', signal });
      for (let i = 0; i < 75; i++) stt.write(new Int16Array(320));
      stt.close();
      for await (const _ of call.llm.chat([{ role: 'user', content: 'hello there' }], [], signal));
      for await (const _ of call.tts.synthesize('Hello.', { signal }));
      const used = call.usage!.snapshot();
      assert.deepEqual(used.stt, { dg: { audioSeconds: 1.5 } });
      assert.deepEqual(used.tts, { dg: { characters: 6 } });
      const llm = used.llm.oa!;
      assert.equal(llm.replies, 1);
      assert.ok(llm.promptTokens > 0 && llm.completionTokens > 0, JSON.stringify(llm));
      assert.equal(openai.requests.at(-1)!.body && (openai.requests.at(-1)!.body as { stream_options?: unknown }).stream_options !== undefined, true);
      assert.deepEqual(other.usage!.snapshot(), { stt: {}, tts: {}, llm: {} }, 'another call counts apart');
    } finally {
      await registry.close();
      await openai.close();
      await deepgram.close();
    }
  });
});

describe('cloud provider config', () => {
  const parse = (tree: unknown, env: NodeJS.ProcessEnv = ENV) => validateConfig(tree, providersConfigSchema, env);

  it('the default stays offline: one local_ai provider', () => {
    assert.deepEqual(Object.values(parse(undefined)).map((p) => p.type), ['local_ai']);
  });

  it('a missing key is a ConfigError naming its env var', () => {
    const config = parse({ oa: { type: 'openai' }, dg: { type: 'deepgram' } });
    refusedAt('OPENAI_API_KEY', () => new ProviderRegistry({ oa: config.oa! }, log, {}), /OPENAI_API_KEY_FILE/);
    refusedAt('DEEPGRAM_API_KEY', () => new ProviderRegistry({ dg: config.dg! }, log, {}), /DEEPGRAM_API_KEY_FILE/);
  });

  it('refuses keys in the file, credentials in URLs, and plain http to anything but loopback', () => {
    refusedAt('oa.api_key', () => parse({ oa: { type: 'openai', api_key: 'sk-in-yaml' } }));
    refusedAt('oa.base_url', () => parse({ oa: { type: 'openai', base_url: 'http://llm.example.com/v1' } }), /loopback/);
    refusedAt('dg.base_url', () => parse({ dg: { type: 'deepgram', base_url: 'https://u:p@api.deepgram.com' } }), /credentials/);
    refusedAt('dg.base_url', () => parse({ dg: { type: 'deepgram', base_url: 'ftp://api.deepgram.com' } }), /https/);
    parse({ oa: { type: 'openai', base_url: 'http://127.0.0.1:11434/v1' }, dg: { type: 'deepgram', base_url: 'http://localhost:9000' } });
  });

  it('a context stage naming a provider without that stage is refused at its key', () => {
    const registry = new ProviderRegistry(parse({ dg: { type: 'deepgram' }, oa: { type: 'openai' } }), log, ENV);
    refusedAt('contexts.c.provider.llm', () => registry.forContext('c', contextSchema.parse({ provider: { type: 'pipeline', stt: 'dg', llm: 'dg', tts: 'oa' } })), /no LLM/);
  });
});
