import type { ContextConfig, Logger } from '@ai-agent/common';
import type { CallActions } from '../call/index.ts';
import type { AgentProvider, AgentSession, WireAudio } from '../providers/types.ts';
import { Toolbox } from '../tools/toolbox.ts';
import type { Tool } from '../tools/types.ts';
import { fillVariables, type VariablesLookup } from './context-variables.ts';

/** The context's system prompt and greeting with the call's {{variables}} filled in. */
export interface AgentPrompts {
  system: string;
  greeting: string;
}

export interface AgentWarmStartOptions {
  agent: AgentProvider;
  context: ContextConfig;
  actions: CallActions;
  tools?: readonly Tool<any>[];
  variables?: VariablesLookup;
  /** The audio the call's media will carry (its codec), so the session is set up for it. */
  wire: WireAudio;
  log: Logger;
}

/** What the call takes: the prompts (variables filled in) and the session configured with them, if still open. */
export interface WarmSession {
  /** Null when it ended before the call took it: the conversation connects anew with these prompts. */
  session: AgentSession | null;
  prompts: AgentPrompts;
}

/**
 * A call's speech-to-speech session opened ahead: while telephony answers the caller and sets the media path
 * up, the vendor's socket is opened and configured (variables looked up, instructions, tools and audio format
 * sent and acknowledged), so the greeting pays no handshake. The call's AgentConversation takes it once the
 * media is there and asks for the greeting then; a call that ends first releases it.
 */
export class AgentWarmStart {
  readonly context: ContextConfig;
  readonly tools: readonly Tool<any>[] | undefined;
  readonly wire: WireAudio;
  private readonly abort = new AbortController();
  private readonly ready: Promise<{ session: AgentSession; prompts: AgentPrompts }>;
  /** The session ended (the vendor closed or failed it) before the call took it. */
  private lost = false;
  private taken = false;

  constructor(private readonly options: AgentWarmStartOptions) {
    this.context = options.context;
    this.tools = options.tools;
    this.wire = options.wire;
    this.ready = this.open();
    // Nobody may be waiting yet; the call that takes it sees the failure then.
    this.ready.catch(() => undefined);
  }

  private async open(): Promise<{ session: AgentSession; prompts: AgentPrompts }> {
    const { agent, context, variables, wire } = this.options;
    const values = variables ? await variables(this.abort.signal) : {};
    const prompts = { system: fillVariables(context.system_prompt, values), greeting: fillVariables(context.greeting, values) };
    const session = await agent.connect({
      instructions: prompts.system,
      greeting: '',
      voice: context.voice,
      language: context.language,
      tools: new Toolbox(context, this.options.actions, this.options.tools).schemas,
      wire,
      signal: this.abort.signal,
    });
    session.on('error', this.onLost).on('close', this.onLost);
    return { session, prompts };
  }

  private readonly onLost = (): void => {
    this.lost = true;
  };

  /**
   * The session for the call, by the conversation that serves it; rejects as a connect would. Aborting `signal`
   * (the call ended) abandons the connect.
   */
  async take(signal: AbortSignal): Promise<WarmSession> {
    this.taken = true;
    const onAbort = (): void => this.abort.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const { session, prompts } = await this.ready;
      session.off('error', this.onLost).off('close', this.onLost);
      if (!this.lost) return { session, prompts };
      session.close();
      this.options.log.info('the agent session opened ahead ended before the call took it; connecting anew');
      return { session: null, prompts };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** The call ended before its conversation took the session: close it. Does nothing once taken. */
  release(): void {
    if (this.taken) return;
    this.taken = true;
    this.abort.abort();
    this.ready.then((warm) => warm.session.close(), () => undefined);
  }
}
