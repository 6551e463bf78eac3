// Agent provider configuration: every refusal is a ConfigError naming the key (or env var) to fix.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { contextsConfigSchema, createLogger, providersConfigSchema, scrub, validateConfig } from '@ai-agent/common';
import { ProviderRegistry } from '../../../src/providers/registry.ts';
import { refusedAt } from '../config-refusal.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const ENV = { OPENAI_API_KEY: 'sk-config-test-0123456789', DEEPGRAM_API_KEY: 'dg-config-test-0123456789' };

function providers(tree: unknown, env: NodeJS.ProcessEnv = ENV) {
  return validateConfig(tree, providersConfigSchema, env);
}

describe('agent provider config', () => {
  it('fills the defaults of both vendors', () => {
    const p = providers({ rt: { type: 'openai_realtime' }, dg: { type: 'deepgram_agent' } });
    assert.deepEqual(p.rt, {
      type: 'openai_realtime', base_url: 'https://api.openai.com/v1', model: 'gpt-realtime', voice: 'alloy',
      connect_timeout_ms: 5000, input_transcription_model: 'gpt-4o-mini-transcribe', silence_duration_ms: 500,
    });
    assert.equal(p.dg?.type === 'deepgram_agent' && p.dg.agent_url, 'wss://agent.deepgram.com');
    assert.equal(p.dg?.type === 'deepgram_agent' && p.dg.sample_rate, 16000);
    assert.deepEqual(p.dg?.type === 'deepgram_agent' && p.dg.think, { provider: { type: 'open_ai', model: 'gpt-4o-mini' } });
  });

  it('refuses an API key in the file', () => {
    refusedAt('rt.api_key', () => providers({ rt: { type: 'openai_realtime', api_key: 'sk-in-yaml' } }), /environment/);
  });

  it('refuses credentials in a base URL, and plain http/ws to anything but loopback', () => {
    refusedAt('rt.base_url', () => providers({ rt: { type: 'openai_realtime', base_url: 'https://user:pw@api.openai.com/v1' } }), /credentials/);
    refusedAt('rt.base_url', () => providers({ rt: { type: 'openai_realtime', base_url: 'http://api.example.com/v1' } }), /loopback/);
    refusedAt('dg.agent_url', () => providers({ dg: { type: 'deepgram_agent', agent_url: 'ws://10.0.0.5:8080' } }), /loopback/);
    refusedAt('dg.agent_url', () => providers({ dg: { type: 'deepgram_agent', agent_url: 'https://agent.deepgram.com' } }), /wss/);
    providers({ rt: { type: 'openai_realtime', base_url: 'http://127.0.0.1:4010/v1' }, dg: { type: 'deepgram_agent', agent_url: 'ws://localhost:9000' } });
  });

  it('refuses custom think/speak endpoints (their headers would carry credentials)', () => {
    refusedAt('dg.think.endpoint', () => providers({ dg: { type: 'deepgram_agent', think: { provider: { type: 'open_ai' }, endpoint: { url: 'https://x' } } } }));
  });

  it('a context naming a missing or non-agent provider is refused at contexts.<ctx>.provider.agent', () => {
    const contexts = validateConfig({ sales: { provider: { type: 'agent', agent: 'nope' } }, support: { provider: { type: 'agent', agent: 'local' } } }, contextsConfigSchema, ENV);
    const registry = new ProviderRegistry(providers({ local: { type: 'local_ai' }, rt: { type: 'openai_realtime' } }), log, ENV);
    refusedAt('contexts.sales.provider.agent', () => registry.agentForContext('sales', contexts.sales!), /unknown provider "nope"/);
    refusedAt('contexts.support.provider.agent', () => registry.agentForContext('support', contexts.support!), /not a speech-to-speech agent/);
    refusedAt('contexts.sales.provider.agent', () => registry.validate({ sales: contexts.sales! }));
    const ok = validateConfig({ sales: { provider: { type: 'agent', agent: 'rt' } } }, contextsConfigSchema, ENV);
    assert.equal(registry.agentForContext('sales', ok.sales!).name, 'rt');
    registry.validate(ok);
  });

  it('a missing key is an error naming its env var; a key from *_FILE is read and redacted', () => {
    const config = providers({ rt: { type: 'openai_realtime' }, dg: { type: 'deepgram_agent' } });
    refusedAt('OPENAI_API_KEY', () => new ProviderRegistry({ rt: config.rt! }, log, {}), /OPENAI_API_KEY_FILE/);
    refusedAt('DEEPGRAM_API_KEY', () => new ProviderRegistry({ dg: config.dg! }, log, {}), /DEEPGRAM_API_KEY_FILE/);
    const file = join(mkdtempSync(join(tmpdir(), 'agent-key-')), 'openai.key');
    const secret = 'sk-from-a-file-9876543210';
    writeFileSync(file, `${secret}\n`);
    new ProviderRegistry({ rt: config.rt! }, log, { OPENAI_API_KEY_FILE: file });
    assert.ok(!scrub(`key=${secret}`).includes(secret), 'the key read from the file is scrubbed from output');
  });
});
