import type { ProviderInstanceConfig } from '@ai-agent/common';

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
