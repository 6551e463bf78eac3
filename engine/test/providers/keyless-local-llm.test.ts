// An OpenAI-compatible server on this machine (llama.cpp, Ollama, vLLM) usually takes no key: the engine
// talks to it without OPENAI_API_KEY and sends no Authorization header, through the real SDK. A remote
// server still needs the key, and plain http still goes to loopback only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contextSchema, createLogger, providersConfigSchema, validateConfig, type EngineConfig } from '@ai-agent/common';
import { startOpenAiFake, type OpenAiFake } from '@ai-agent/test-peers';
import { providerChecks } from '../../src/doctor/provider-checks.ts';
import type { DoctorContext } from '../../src/doctor/context.ts';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import type { LlmEvent } from '../../src/providers/types.ts';
import { refusedAt } from './config-refusal.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const NO_ENV: NodeJS.ProcessEnv = {};
const LLAMA_CONTEXT = contextSchema.parse({ provider: { type: 'pipeline', stt: 'llama', llm: 'llama', tts: 'llama' } });

describe('a keyless OpenAI-compatible server on loopback', () => {
  let server: OpenAiFake;

  before(async () => {
    // Keyless: the stand-in refuses any request that carries an Authorization header.
    server = await startOpenAiFake({ apiKey: null });
  });
  after(() => server.close());

  it('answers a streamed chat with no key set and none sent', async () => {
    const config = validateConfig({ llama: { type: 'openai', base_url: server.baseURL, llm: { model: 'qwen2.5-0.5b-instruct' } } }, providersConfigSchema, NO_ENV);
    const registry = new ProviderRegistry(config, log, NO_ENV);
    try {
      const llm = registry.forContext('default', LLAMA_CONTEXT).llm;
      const events: LlmEvent[] = [];
      for await (const e of llm.chat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello there' }], [], new AbortController().signal)) events.push(e);
      assert.equal(events.map((e) => (e.type === 'text' ? e.text : '')).join(''), 'You said: hello there');
      const chat = server.requests.find((r) => r.path === '/v1/chat/completions');
      assert.ok(chat?.authorized, 'the request carried an Authorization header');
      assert.equal((chat.body as { model: string }).model, 'qwen2.5-0.5b-instruct');
    } finally {
      await registry.close();
    }
  });

  it('a key that is set is still sent (a local server started with --api-key)', async () => {
    const keyed = await startOpenAiFake({ apiKey: 'sk-local-server-0123456789' });
    const env = { OPENAI_API_KEY: 'sk-local-server-0123456789' };
    const registry = new ProviderRegistry(validateConfig({ llama: { type: 'openai', base_url: keyed.baseURL } }, providersConfigSchema, env), log, env);
    try {
      const llm = registry.forContext('default', LLAMA_CONTEXT).llm;
      for await (const _ of llm.chat([{ role: 'user', content: 'hi' }], [], new AbortController().signal));
      assert.ok(keyed.requests.find((r) => r.path === '/v1/chat/completions')?.authorized);
    } finally {
      await registry.close();
      await keyed.close();
    }
  });

  it('a remote https server without the key is refused, naming it; plain http to a remote host is refused', () => {
    const remote = validateConfig({ oa: { type: 'openai', base_url: 'https://llm.example.com/v1' } }, providersConfigSchema, NO_ENV);
    refusedAt('OPENAI_API_KEY', () => new ProviderRegistry(remote, log, NO_ENV), /loopback base_url/);
    refusedAt('oa.base_url', () => validateConfig({ oa: { type: 'openai', base_url: 'http://192.168.1.20:8080/v1' } }, providersConfigSchema, NO_ENV), /loopback/);
    // Only the pipeline `openai` type goes keyless: Realtime is OpenAI's own service.
    const realtime = validateConfig({ rt: { type: 'openai_realtime', base_url: 'http://127.0.0.1:8080/v1' } }, providersConfigSchema, NO_ENV);
    refusedAt('OPENAI_API_KEY', () => new ProviderRegistry(realtime, log, NO_ENV));
  });

  it('the doctor passes a keyless loopback server and fails a keyless remote one', async () => {
    const config = validateConfig(
      { llama: { type: 'openai', base_url: 'http://127.0.0.1:8080/v1' }, oa: { type: 'openai', base_url: 'https://api.openai.com/v1' } },
      providersConfigSchema,
      NO_ENV,
    );
    const context: DoctorContext = { mode: 'doctor', env: NO_ENV, timeoutMs: 1000, ariPassword: undefined, engine: null, config: { providers: config, contexts: {} } as unknown as EngineConfig };
    const results = await providerChecks(context);
    const status = Object.fromEntries(results.map((r) => [r.id, r.status]));
    assert.deepEqual(status, { 'provider.llama.key': 'pass', 'provider.oa.key': 'fail' });
  });
});
