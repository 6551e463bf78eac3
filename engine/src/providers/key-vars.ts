import { isLoopbackHost, type ProviderInstanceConfig } from '@ai-agent/common';

// The environment variables vendor keys come from, without loading any vendor SDK (the doctor reads these).

export const OPENAI_KEY_VAR = 'OPENAI_API_KEY';
export const DEEPGRAM_KEY_VAR = 'DEEPGRAM_API_KEY';

/** The key each provider type needs (also as NAME_FILE); the local AI server's token is optional. */
export const PROVIDER_KEY_VARS: Readonly<Record<ProviderInstanceConfig['type'], string | null>> = {
  local_ai: null,
  openai: OPENAI_KEY_VAR,
  openai_realtime: OPENAI_KEY_VAR,
  deepgram: DEEPGRAM_KEY_VAR,
  deepgram_agent: DEEPGRAM_KEY_VAR,
};

/**
 * An OpenAI-compatible server on this machine (llama.cpp, Ollama, vLLM on a loopback `base_url`) usually
 * takes no key: the key may then be left unset, and no Authorization header is sent. A remote server, or any
 * other type, still needs its key.
 */
export function keyOptional(provider: ProviderInstanceConfig): boolean {
  if (provider.type !== 'openai') return false;
  try {
    return isLoopbackHost(new URL(provider.base_url).hostname);
  } catch {
    return false;
  }
}
