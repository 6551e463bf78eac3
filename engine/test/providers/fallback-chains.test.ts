// Fallback chains with the real adapters, wired by the registry from config: OpenAI LLM → local LLM and
// Deepgram STT → local STT. A primary that fails hands the request (or the rest of the call) to the fallback,
// is skipped by later requests for `retry_primary_after_ms`, then probed again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { contextSchema, createLogger, providersConfigSchema, validateConfig } from '@ai-agent/common';
import {
  startDeepgramFake, startLocalAiFake, startOpenAiFake, waitUntil, type DeepgramFake, type LocalAiFake, type OpenAiFake,
} from '@ai-agent/test-peers';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import type { ChatMessage, PipelineProviders } from '../../src/providers/types.ts';
import { frames, promptTurn, RATE } from './conformance/common.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const ENV = { OPENAI_API_KEY: 'sk-fallback-0123456789', DEEPGRAM_API_KEY: 'dg-fallback-0123456789' };
const RETRY_MS = 1000;
const MESSAGES: ChatMessage[] = [{ role: 'user', content: 'are you open' }];

async function reply(providers: PipelineProviders): Promise<string> {
  let text = '';
  for await (const e of providers.llm.chat(MESSAGES, [], new AbortController().signal)) if (e.type === 'text') text += e.text;
  return text;
}

describe('fallback chains', () => {
  let openai: OpenAiFake;
  let deepgram: DeepgramFake;
  let local: LocalAiFake;
  let registry: ProviderRegistry;
  let providers: PipelineProviders;
  const chats = () => openai.requests.filter((r) => r.path === '/v1/chat/completions').length;
  const llmHealth = () => registry.health().find((h) => h.provider === 'oa' && h.stage === 'llm')!;

  before(async () => {
    [openai, deepgram, local] = await Promise.all([
      startOpenAiFake({ apiKey: ENV.OPENAI_API_KEY }),
      startDeepgramFake({ apiKey: ENV.DEEPGRAM_API_KEY }),
      startLocalAiFake({ token: 'local-fallback-token' }),
    ]);
    const config = validateConfig(
      {
        oa: { type: 'openai', base_url: openai.baseURL },
        dg: { type: 'deepgram', base_url: deepgram.environment.base },
        local: { type: 'local_ai', url: local.url },
      },
      providersConfigSchema,
      ENV,
    );
    registry = new ProviderRegistry(config, log, { ...ENV, LOCAL_WS_AUTH_TOKEN: local.token });
    const context = contextSchema.parse({
      provider: { type: 'pipeline', stt: 'dg', llm: 'oa', tts: 'local', fallback: { stt: 'local', llm: 'local', retry_primary_after_ms: RETRY_MS } },
    });
    providers = registry.forContext('sales', context);
  });
  after(async () => {
    await registry.close();
    await Promise.all([openai.close(), deepgram.close(), local.close()]);
  });

  it('OpenAI answering 500 → the local LLM answers; the next turn skips OpenAI; after the retry delay it is probed again', async () => {
    openai.chat.push({ fault: { kind: 'status', status: 500 } });
    local.chat.push({ text: 'Local answer one.' }, { text: 'Local answer two.' });
    assert.equal(await reply(providers), 'Local answer one.');
    assert.equal(chats(), 1);
    assert.equal(llmHealth().healthy, false);
    assert.equal(await reply(providers), 'Local answer two.');
    assert.equal(chats(), 1, 'the unhealthy primary was not tried');
    await new Promise((r) => setTimeout(r, RETRY_MS + 50));
    assert.equal(await reply(providers), 'You said: are you open');
    assert.equal(chats(), 2);
    assert.equal(llmHealth().healthy, true);
    // Each reply is counted against the provider that was asked: the failed one and the probe, and the fallback.
    const used = providers.usage!.snapshot().llm;
    assert.equal(used.oa?.replies, 2);
    assert.equal(used.local?.replies, 2);
  });

  it('Deepgram dropping mid-call → the local recogniser takes the rest of the call; the next call opens locally', async () => {
    const turn = promptTurn('hello-world');
    deepgram.listen.scripts.push({ fault: { kind: 'drop', atMs: 200 } });
    local.stt.push({ text: 'hello world' });
    const sessions = deepgram.listen.sessions.length;
    const stream = await providers.stt.open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal: new AbortController().signal });
    const finals: string[] = [];
    const errors: Error[] = [];
    stream.on('final', (t) => finals.push(t));
    stream.on('error', (e) => errors.push(e));
    try {
      // The first 200 ms go to Deepgram, which drops; the turn that follows is heard by the local recogniser.
      for (const frame of frames(turn.pcm, 0, 300)) {
        stream.write(frame);
        await yieldToIo();
      }
      await waitUntil(() => deepgram.listen.sessions[sessions]?.closed);
      await new Promise((r) => setTimeout(r, 50));
      for (const frame of frames(turn.pcm)) {
        stream.write(frame);
        await yieldToIo();
      }
      stream.finalize();
      await waitUntil(() => finals.includes('hello world'), 3000);
    } finally {
      stream.close();
    }
    assert.deepEqual(errors, []);
    const second = await providers.stt.open({ sampleRate: RATE, language: 'en-US', signal: new AbortController().signal });
    second.close();
    assert.equal(deepgram.listen.sessions.length, sessions + 1, 'the next call did not try Deepgram');
    assert.equal(registry.health().find((h) => h.provider === 'dg')?.healthy, false);
  });
});
