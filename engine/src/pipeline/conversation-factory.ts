import type { ContextConfig } from '@ai-agent/common';
import type { CallInfo, ConversationFactory } from '../call/index.ts';
import type { Tool } from '../tools/types.ts';
import type { ProviderRegistry } from '../providers/registry.ts';
import type { WireAudio } from '../providers/types.ts';
import { isWireFormat } from '../audio/codec.ts';
import { wireAudioOf } from '../providers/wire-audio.ts';
import { AgentConversation } from './agent-conversation.ts';
import { AgentWarmStart } from './agent-warm-start.ts';
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
  /** Agent sessions opened ahead (`prepare`), by call id, until the call's conversation takes its own. */
  const warming = new Map<string, AgentWarmStart>();

  const factory: ConversationFactory = ({ info, media, control, record, log, dtmfFromMedia }) => {
    const warm = warming.get(info.id);
    warming.delete(info.id);
    // Opened for the codec telephony announced; media that came up otherwise gets a session of its own.
    const usable = warm && sameAudio(warm.wire, wireAudioOf(media.wireFormat)) ? warm : undefined;
    if (warm && !usable) warm.release();
    const context = usable?.context ?? deps.contextFor(info.context);
    const hooks = { playStockPrompt: (name: keyof typeof STOCK_PROMPTS) => control.playSound(STOCK_PROMPTS[name]) };
    const tools = usable ? usable.tools : deps.toolsFor?.(info.context, context);
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
        // The session opened ahead was personalised already: the lookup is not made twice.
        ...(usable ? { warm: usable } : { variables: deps.variablesFor?.(info) }),
      });
    }
    const variables = deps.variablesFor?.(info);
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

  factory.prepare = ({ info, control, log }) => {
    const context = deps.contextFor(info.context);
    if (context.provider.type !== 'agent' || !isWireFormat(info.codec)) return () => undefined;
    const warm = new AgentWarmStart({
      agent: deps.providers.agentForContext(info.context, context),
      context,
      actions: control.actions,
      tools: deps.toolsFor?.(info.context, context),
      variables: deps.variablesFor?.(info),
      wire: wireAudioOf(info.codec),
      log,
    });
    warming.set(info.id, warm);
    return () => {
      if (warming.get(info.id) !== warm) return;
      warming.delete(info.id);
      warm.release();
    };
  };
  return factory;
}

function sameAudio(a: WireAudio, b: WireAudio): boolean {
  return a.encoding === b.encoding && a.sampleRate === b.sampleRate;
}
