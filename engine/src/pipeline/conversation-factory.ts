import type { ContextConfig } from '@ai-agent/common';
import type { CallInfo, ConversationFactory } from '../call/index.ts';
import type { Tool } from '../tools/types.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import { AgentConversation } from './agent-conversation.ts';
import type { VariablesLookup } from './context-variables.ts';
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
  /** The HTTP tools a call of context `name` offers its model. */
  toolsFor?: (name: string, context: ContextConfig) => readonly Tool<any>[];
  /** The pre-call lookup of a call's {{variables}}, when its context has one. */
  variablesFor?: (info: CallInfo) => VariablesLookup | undefined;
}

/**
 * One conversation per call, on the config snapshot current when the call starts: the STT → LLM → TTS
 * pipeline, or a speech-to-speech agent for contexts whose provider is `{ type: agent }`.
 */
export function conversationFactory(deps: ConversationFactoryDeps): ConversationFactory {
  return ({ info, media, control, record, log, dtmfFromMedia }) => {
    const context = deps.contextFor(info.context);
    const hooks = { playStockPrompt: (name: keyof typeof STOCK_PROMPTS) => control.playSound(STOCK_PROMPTS[name]) };
    const tools = deps.toolsFor?.(info.context, context);
    const variables = deps.variablesFor?.(info);
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
        tools,
        variables,
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
      tools,
      variables,
    });
  };
}
