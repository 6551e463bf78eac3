import { ConfigError, readSecret, type ContextConfig, type ContextsConfig, type Logger, type ProvidersConfig } from '@ai-agent/common';
import type { PipelineProviders } from '../pipeline/types.ts';
import { FallbackLlm, FallbackStt, FallbackTts } from './fallback.ts';
import { LocalAiPool } from './local-ai/connection-pool.ts';
import { LocalAiLlm } from './llm/local-ai.ts';
import { LocalAiStt } from './stt/local-ai.ts';
import { LocalAiTts } from './tts/local-ai.ts';
import type { LlmProvider, SttProvider, TtsProvider } from './types.ts';

type ProviderConfig = ProvidersConfig[string];

/** What one configured provider instance offers (a vendor may offer any subset). */
export interface ProviderInstance {
  stt?: SttProvider;
  llm?: LlmProvider;
  tts?: TtsProvider;
  close(): Promise<void>;
}

export type ProviderFactory = (name: string, config: ProviderConfig, deps: { log: Logger; env: NodeJS.ProcessEnv }) => ProviderInstance;

/** Provider types the engine knows, by the `type:` of a `providers:` entry. */
const FACTORIES: Record<ProviderConfig['type'], ProviderFactory> = {
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
};

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
      this.instances.set(name, FACTORIES[config.type](name, config, { log, env }));
    }
  }

  /** Checks every provider reference of every context. */
  validate(contexts: ContextsConfig): void {
    for (const [name, ctx] of Object.entries(contexts)) this.forContext(name, ctx);
  }

  /** The providers a context's calls use. Throws ConfigError for an unknown or unsuitable name. */
  forContext(contextName: string, ctx: ContextConfig): PipelineProviders {
    const p = ctx.provider;
    if (p.type !== 'pipeline') {
      throw new ConfigError(`contexts.${contextName}.provider.agent`, `speech-to-speech agent "${p.agent}" is not available in this engine`);
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
