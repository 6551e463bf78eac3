import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, contextSchema, createLogger, SentenceChunker } from '@ai-agent/common';
import { heardPrefix } from '../../src/pipeline/heard-text.ts';
import { FallbackLlm, FallbackTts } from '../../src/providers/fallback.ts';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import type { LlmEvent, LlmProvider, TtsChunk, TtsProvider } from '../../src/providers/types.ts';

const log = createLogger({ service: 'pipeline-unit', level: 'silent' });

function chunk(text: string, parts = 3): string[] {
  const c = new SentenceChunker();
  const out: string[] = [];
  // Stream in uneven pieces, as tokens come.
  for (let i = 0; i < text.length; i += parts) out.push(...c.push(text.slice(i, i + parts)));
  return [...out, ...c.flush()];
}

describe('sentence chunker', () => {
  test('cuts at sentence ends, first at a clause, never inside numbers or abbreviations', () => {
    assert.deepEqual(chunk('Well, sure thing. Dr. Smith sees you at 3.30 p.m. today! Is that fine?'), [
      'Well, sure thing.',
      'Dr. Smith sees you at 3.30 p.m. today!',
      'Is that fine?',
    ]);
    assert.deepEqual(chunk('Thank you for calling us, how can I help you today? Bye.'), [
      'Thank you for calling us,',
      'how can I help you today?',
      'Bye.',
    ]);
  });
  test('a sentence is emitted only when the space after its end arrived; the rest on flush', () => {
    const c = new SentenceChunker();
    assert.deepEqual(c.push('Hello there.'), []);
    assert.deepEqual(c.push(' And'), ['Hello there.']);
    assert.deepEqual(c.flush(), ['And']);
    assert.deepEqual(chunk('... !'), []);
  });
  test('overlong text without punctuation is cut at a space', () => {
    const pieces = chunk('word '.repeat(120));
    assert.ok(pieces.length >= 2 && pieces.every((p) => p.length <= 250));
  });
});

describe('heard prefix', () => {
  test('keeps whole words heard before the cut', () => {
    const s = 'Our opening hours are from nine to five';
    assert.equal(heardPrefix(s, 0), '');
    assert.equal(heardPrefix(s, 1), s);
    assert.equal(heardPrefix(s, 0.5), 'Our opening hours');
    assert.equal(heardPrefix(s, 0.05), '');
  });
});

describe('provider registry', () => {
  const providers = { local: { type: 'local_ai' as const, url: 'ws://127.0.0.1:9', connect_timeout_ms: 200 } };
  test('unknown provider names are config errors naming the key', async () => {
    const registry = new ProviderRegistry(providers, log, {});
    try {
      const ctx = contextSchema.parse({ provider: { type: 'pipeline', llm: 'gpt9' } });
      assert.throws(() => registry.forContext('sales', ctx), (err: unknown) => err instanceof ConfigError && err.key === 'contexts.sales.provider.llm' && /unknown provider "gpt9"/.test(err.reason));
      const fb = contextSchema.parse({ provider: { type: 'pipeline', fallback: { tts: 'nope' } } });
      assert.throws(() => registry.validate({ default: fb }), (err: unknown) => err instanceof ConfigError && err.key === 'contexts.default.provider.fallback.tts');
      const ok = registry.forContext('default', contextSchema.parse({}));
      assert.equal(ok.llm.name, 'local');
    } finally {
      await registry.close();
    }
  });
  test('an unreachable local AI server fails fast with a clear error', async () => {
    const registry = new ProviderRegistry(providers, log, {});
    try {
      const { stt } = registry.forContext('default', contextSchema.parse({}));
      await assert.rejects(stt.open({ sampleRate: 16000, language: 'en', signal: new AbortController().signal }));
    } finally {
      await registry.close();
    }
  });
});

describe('fallback wrappers', () => {
  const failing: LlmProvider = { name: 'a', chat: async function* () { throw new Error('down'); } };
  const working: LlmProvider = { name: 'b', chat: async function* (): AsyncIterable<LlmEvent> { yield { type: 'text', text: 'from b' }; } };
  const halfway: LlmProvider = { name: 'c', chat: async function* (): AsyncIterable<LlmEvent> { yield { type: 'text', text: 'par' }; throw new Error('cut'); } };
  const collect = async (it: AsyncIterable<LlmEvent>) => { const out: LlmEvent[] = []; for await (const e of it) out.push(e); return out; };
  const signal = new AbortController().signal;

  test('a provider failing before any output is replaced by its fallback', async () => {
    assert.deepEqual(await collect(new FallbackLlm(failing, working, log).chat([], [], signal)), [{ type: 'text', text: 'from b' }]);
  });
  test('a failure after output is not spliced: it propagates', async () => {
    await assert.rejects(collect(new FallbackLlm(halfway, working, log).chat([], [], signal)), /cut/);
  });
  test('tts fallback', async () => {
    const bad: TtsProvider = { name: 'x', synthesize: async function* () { throw new Error('no voice'); } };
    const good: TtsProvider = { name: 'y', synthesize: async function* (): AsyncIterable<TtsChunk> { yield { pcm: new Int16Array(4), sampleRate: 8000 }; } };
    const out: TtsChunk[] = [];
    for await (const c of new FallbackTts(bad, good, log).synthesize('hi', { signal })) out.push(c);
    assert.equal(out.length, 1);
    assert.equal(out[0].sampleRate, 8000);
  });
});
