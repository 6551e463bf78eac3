import type { ContextConfig } from '@ai-agent/common';
import type { ConversationFactory } from '../call/index.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { AgentConversation } from './agent-conversation.ts';
import { Conversation } from './conversation.ts';
import type { GreetingCache } from './greeting-cache.ts';
import type { VadService } from './vad/vad-service.ts';

/** Stock prompts Asterisk plays itself when our own TTS cannot speak (e.g. the apology after a TTS failure). */
const STOCK_PROMPTS = { apology: 'sound:sorry-youre-having-problems' } as const;

export interface ConversationFactoryDeps {
  vad: VadService;
  providers: ProviderRegistry;
  greetings: GreetingCache;
  /** The context config as it is now: each call keeps the snapshot it started with. */
  contextFor: (name: string) => ContextConfig;
}

/**
 * One conversation per call, on the config snapshot current when the call starts: the STT → LLM → TTS
 * pipeline, or a speech-to-speech agent for contexts whose provider is `{ type: agent }`.
 */
export function conversationFactory(deps: ConversationFactoryDeps): ConversationFactory {
  return ({ info, media, control, record, log, dtmfFromMedia }) => {
    const context = deps.contextFor(info.context);
    const hooks = { playStockPrompt: (name: keyof typeof STOCK_PROMPTS) => control.playSound(STOCK_PROMPTS[name]) };
    if (context.provider.type === 'agent') {
      return new AgentConversation({
        call: info,
        media,
        control,
        context,
        agent: deps.providers.agentForContext(info.context, context),
        sink: record,
        log,
        dtmfFromMedia,
        hooks,
      });
    }
    return new Conversation({
      call: info,
      media,
      control,
      context,
      providers: deps.providers.forContext(info.context, context),
      vad: deps.vad,
      sink: record,
      log,
      greetings: deps.greetings,
      dtmfFromMedia,
      hooks,
    });
  };
}
