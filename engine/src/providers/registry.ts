import { ConfigError, readSecret, type ContextConfig, type ContextsConfig, type Logger, type ProvidersConfig } from '@ai-agent/common';
import type { AgentProvider, LlmProvider, PipelineProviders, SttProvider, TtsProvider } from './types.ts';
import { FallbackLlm, FallbackStt, FallbackTts } from './fallback.ts';
import { LocalAiPool } from './local-ai/connection-pool.ts';
import { LocalAiLlm } from './llm/local-ai.ts';
import { LocalAiStt } from './stt/local-ai.ts';
import { LocalAiTts } from './tts/local-ai.ts';
import { DeepgramVoiceAgent } from './agent/deepgram-agent.ts';
import { OpenAiRealtimeAgent } from './agent/openai-realtime.ts';

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
    return {
      stt: new LocalAiStt(name, pool),
      llm: new LocalAiLlm(name, pool),
      tts: new LocalAiTts(name, pool),
      close: () => pool.close(),
    };
  },
  openai_realtime: (name, config, { log, env }) => {
    const apiKey = requiredKey('OPENAI_API_KEY', name, config.type, env);
    return { agent: new OpenAiRealtimeAgent(name, config, { apiKey, log }), close: async () => undefined };
  },
  deepgram_agent: (name, config, { log, env }) => {
    const apiKey = requiredKey('DEEPGRAM_API_KEY', name, config.type, env);
    return { agent: new DeepgramVoiceAgent(name, config, { apiKey, log }), close: async () => undefined };
  },
};

/** A vendor key, only from the environment (or NAME_FILE); registered for redaction by readSecret. */
function requiredKey(envVar: string, provider: string, type: string, env: NodeJS.ProcessEnv): string {
  const key = readSecret(envVar, env);
  if (!key) throw new ConfigError(envVar, `required by providers.${provider} (type ${type}): set ${envVar} or ${envVar}_FILE in the environment`);
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
    const pick = <S extends Stage>(stage: S, name: string, k: string): NonNullable<ProviderInstance[S]> => {
      const instance = this.instances.get(name);
      if (!instance) throw new ConfigError(k, `unknown provider "${name}" (configured: ${[...this.instances.keys()].join(', ') || 'none'})`);
      const provider = instance[stage];
      if (!provider) throw new ConfigError(k, `provider "${name}" has no ${stage.toUpperCase()}`);
      return provider as NonNullable<ProviderInstance[S]>;
    };
    let stt: SttProvider = pick('stt', p.stt, key('stt'));
    let llm: LlmProvider = pick('llm', p.llm, key('llm'));
    let tts: TtsProvider = pick('tts', p.tts, key('tts'));
    const fb = p.fallback;
    if (fb.stt) stt = new FallbackStt(stt, pick('stt', fb.stt, key('stt', true)), this.log);
    if (fb.llm) llm = new FallbackLlm(llm, pick('llm', fb.llm, key('llm', true)), this.log);
    if (fb.tts) tts = new FallbackTts(tts, pick('tts', fb.tts, key('tts', true)), this.log);
    return { stt, llm, tts };
  }

  async close(): Promise<void> {
    await Promise.all([...this.instances.values()].map((i) => i.close()));
  }
}
