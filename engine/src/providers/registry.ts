import { ConfigError, readSecret, type ContextConfig, type ContextsConfig, type Logger, type ProvidersConfig } from '@ai-agent/common';
import type { AgentProvider, LlmProvider, PipelineProviders, SttProvider, TtsProvider } from './types.ts';
import { FallbackLlm, FallbackStt, FallbackTts } from './fallback.ts';
import { LocalAiPool } from './local-ai/connection-pool.ts';
import { LocalAiLlm } from './local-ai/llm.ts';
import { LOCAL_BUSY_RETRY_MS, LocalAiStt } from './local-ai/stt.ts';
import { LocalAiTts } from './local-ai/tts.ts';
import { LOCAL_IDLE_TIMEOUT_MS } from './local-ai/failure.ts';
import { DeepgramVoiceAgent } from './deepgram/agent.ts';
import { DEEPGRAM_KEY_VAR, deepgramClient } from './deepgram/client.ts';
import { DeepgramStt } from './deepgram/stt.ts';
import { DeepgramTts } from './deepgram/tts.ts';
import { OPENAI_KEY_VAR, openAiClient } from './openai/client.ts';
import { OpenAiLlm } from './openai/llm.ts';
import { OpenAiRealtimeAgent } from './openai/realtime.ts';
import { OpenAiStt } from './openai/stt.ts';
import { OpenAiTts } from './openai/tts.ts';
import { WithKeyterms } from './keyterms.ts';
import { keyOptional } from './key-vars.ts';
import { CallUsage, metered } from './usage.ts';
import { DEFAULT_RETRY_PRIMARY_MS, ProviderHealth, type HealthSnapshot } from './health.ts';

type ProviderConfig = ProvidersConfig[string];

/** What one configured provider instance offers (a vendor may offer any subset). */
export interface ProviderInstance {
  stt?: SttProvider;
  llm?: LlmProvider;
  tts?: TtsProvider;
  /** A speech-to-speech agent (replaces the whole pipeline for the contexts that name it). */
  agent?: AgentProvider;
  close(): Promise<void>;
}

export type ProviderFactory<C extends ProviderConfig = ProviderConfig> = (name: string, config: C, deps: { log: Logger; env: NodeJS.ProcessEnv }) => ProviderInstance;

/** Provider types the engine knows, by the `type:` of a `providers:` entry. */
const FACTORIES: { [T in ProviderConfig['type']]: ProviderFactory<Extract<ProviderConfig, { type: T }>> } = {
  local_ai: (name, config, { log, env }) => {
    const pool = new LocalAiPool({
      url: config.url,
      // The token never comes from YAML: env LOCAL_WS_AUTH_TOKEN (or _FILE), registered for redaction.
      token: readSecret('LOCAL_WS_AUTH_TOKEN', env),
      connectTimeoutMs: config.connect_timeout_ms,
      log: log.child({ provider: name }),
    });
    const idle = config.idle_timeout_ms ?? LOCAL_IDLE_TIMEOUT_MS;
    return {
      stt: new LocalAiStt(name, pool, idle, config.busy_retry_ms ?? LOCAL_BUSY_RETRY_MS),
      llm: new LocalAiLlm(name, pool, idle),
      tts: new LocalAiTts(name, pool, idle),
      close: () => pool.close(),
    };
  },
  openai: (name, config, { env }) => {
    const key = keyOptional(config) ? readSecret(OPENAI_KEY_VAR, env) : requiredKey(OPENAI_KEY_VAR, name, config.type, env);
    const client = openAiClient(config, key);
    return {
      llm: new OpenAiLlm(name, client, config),
      tts: new OpenAiTts(name, client, config),
      stt: new OpenAiStt(name, client, config),
      close: async () => undefined,
    };
  },
  deepgram: (name, config, { env }) => {
    const client = deepgramClient(config, requiredKey(DEEPGRAM_KEY_VAR, name, config.type, env));
    return { stt: new DeepgramStt(name, client, config), tts: new DeepgramTts(name, client, config), close: async () => undefined };
  },
  openai_realtime: (name, config, { log, env }) => {
    const apiKey = requiredKey(OPENAI_KEY_VAR, name, config.type, env);
    return { agent: new OpenAiRealtimeAgent(name, config, { apiKey, log }), close: async () => undefined };
  },
  deepgram_agent: (name, config, { log, env }) => {
    const apiKey = requiredKey(DEEPGRAM_KEY_VAR, name, config.type, env);
    return { agent: new DeepgramVoiceAgent(name, config, { apiKey, log }), close: async () => undefined };
  },
};

/** A vendor key, only from the environment (or NAME_FILE); registered for redaction by readSecret. */
function requiredKey(envVar: string, provider: string, type: string, env: NodeJS.ProcessEnv): string {
  const key = readSecret(envVar, env);
  if (!key) {
    // Only an OpenAI-compatible server on loopback may go without (keyOptional); say so for a remote one.
    const keyless = type === 'openai' ? ' (only a loopback base_url may go without a key)' : '';
    throw new ConfigError(envVar, `required by providers.${provider} (type ${type}): set ${envVar} or ${envVar}_FILE in the environment${keyless}`);
  }
  return key;
}

type Stage = 'stt' | 'llm' | 'tts';

/**
 * Builds the configured provider instances and hands each context its STT, LLM and TTS, wrapped with the
 * context's fallbacks. Every name a context uses is checked up front; an unknown one is a ConfigError
 * naming the key (e.g. `contexts.sales.provider.llm`).
 */
export class ProviderRegistry {
  private readonly instances = new Map<string, ProviderInstance>();
  private readonly healths = new Map<string, ProviderHealth>();

  constructor(providers: ProvidersConfig, private readonly log: Logger, env: NodeJS.ProcessEnv = process.env) {
    for (const [name, config] of Object.entries(providers)) {
      this.instances.set(name, (FACTORIES[config.type] as ProviderFactory)(name, config, { log, env }));
    }
  }

  /** Checks every provider reference of every context. */
  validate(contexts: ContextsConfig): void {
    for (const [name, ctx] of Object.entries(contexts)) {
      if (ctx.provider.type === 'agent') this.agentForContext(name, ctx);
      else this.forContext(name, ctx);
    }
  }

  /** The speech-to-speech agent of an agent context. Throws ConfigError naming `contexts.<name>.provider.agent`. */
  agentForContext(contextName: string, ctx: ContextConfig): AgentProvider {
    const p = ctx.provider;
    const key = `contexts.${contextName}.provider.agent`;
    if (p.type !== 'agent') throw new ConfigError(key, 'this context runs the STT → LLM → TTS pipeline, not an agent');
    const instance = this.instances.get(p.agent);
    if (!instance) throw new ConfigError(key, `unknown provider "${p.agent}" (configured: ${[...this.instances.keys()].join(', ') || 'none'})`);
    if (!instance.agent) throw new ConfigError(key, `provider "${p.agent}" is not a speech-to-speech agent (use type openai_realtime or deepgram_agent)`);
    return instance.agent;
  }

  /** The providers a context's calls use. Throws ConfigError for an unknown or unsuitable name. */
  forContext(contextName: string, ctx: ContextConfig): PipelineProviders {
    const p = ctx.provider;
    if (p.type !== 'pipeline') {
      throw new ConfigError(`contexts.${contextName}.provider`, `the context runs the agent "${p.agent}", not the STT → LLM → TTS pipeline`);
    }
    const key = (stage: Stage, fallback = false) => `contexts.${contextName}.provider.${fallback ? 'fallback.' : ''}${stage}`;
    // Each call counts its own usage, per provider: the leaves are metered before any fallback wraps them.
    const usage = new CallUsage();
    const pick = <S extends Stage>(stage: S, name: string, k: string): NonNullable<ProviderInstance[S]> => {
      const instance = this.instances.get(name);
      if (!instance) throw new ConfigError(k, `unknown provider "${name}" (configured: ${[...this.instances.keys()].join(', ') || 'none'})`);
      const provider = instance[stage];
      if (!provider) throw new ConfigError(k, `provider "${name}" has no ${stage.toUpperCase()}`);
      return metered(stage, provider as NonNullable<ProviderInstance[S]>, usage);
    };
    let stt: SttProvider = pick('stt', p.stt, key('stt'));
    let llm: LlmProvider = pick('llm', p.llm, key('llm'));
    let tts: TtsProvider = pick('tts', p.tts, key('tts'));
    const fb = p.fallback;
    const retryAfterMs = fb.retry_primary_after_ms ?? DEFAULT_RETRY_PRIMARY_MS;
    if (fb.stt) stt = new FallbackStt(stt, pick('stt', fb.stt, key('stt', true)), this.log, { health: this.healthOf(p.stt, 'stt'), retryAfterMs });
    if (fb.llm) llm = new FallbackLlm(llm, pick('llm', fb.llm, key('llm', true)), this.log, { health: this.healthOf(p.llm, 'llm'), retryAfterMs });
    if (fb.tts) tts = new FallbackTts(tts, pick('tts', fb.tts, key('tts', true)), this.log, { health: this.healthOf(p.tts, 'tts'), retryAfterMs });
    if (p.keyterms.length > 0) stt = new WithKeyterms(stt, p.keyterms);
    return { stt, llm, tts, usage };
  }

  /** Health of every provider stage that serves as a primary with a fallback (for readiness detail and metrics). */
  health(): HealthSnapshot[] {
    return [...this.healths.values()].map((h) => h.snapshot());
  }

  /** One health per provider stage, shared by the contexts using it: one failure spares every call the wait. */
  private healthOf(provider: string, stage: Stage): ProviderHealth {
    const id = `${provider}/${stage}`;
    let health = this.healths.get(id);
    if (!health) this.healths.set(id, (health = new ProviderHealth(provider, stage)));
    return health;
  }

  async close(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.close()));
  }
}
