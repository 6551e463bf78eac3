import { EventEmitter } from 'node:events';
import { DeepgramClient, DeepgramEnvironment, type agent } from '@deepgram/sdk';
import type { Logger, ProvidersConfig } from '@ai-agent/common';
import type { AgentConnectOptions, AgentProvider, AgentSession, AgentSessionEvents } from '../types.ts';
import { agentAudioFor, MAX_SEND_BACKLOG_MS, sendBacklogError, type AgentAudio } from '../shared/audio-bridge.ts';
import { connectError, withConnectDeadline } from '../shared/connect.ts';

export type DeepgramAgentConfig = Extract<ProvidersConfig[string], { type: 'deepgram_agent' }>;

type AgentSocket = Awaited<ReturnType<DeepgramClient['agent']['v1']['connect']>>;
/** The server messages this adapter acts on (others are ignored). */
type ServerMessage =
  | agent.AgentV1SettingsApplied | agent.AgentV1UserStartedSpeaking | agent.AgentV1AgentStartedSpeaking | agent.AgentV1AgentAudioDone
  | agent.AgentV1ConversationText | agent.AgentV1FunctionCallRequest | agent.AgentV1Warning | agent.AgentV1Error;
type AgentStages = Pick<agent.AgentV1Settings.Agent, 'listen' | 'think' | 'speak'>;

export interface DeepgramAgentDeps {
  apiKey: string;
  log: Logger;
}

/**
 * Deepgram Voice Agent through the official SDK's agent socket. The agent listens (its own VAD and turn
 * taking), thinks and speaks; we stream linear16 both ways at the configured rate (or the call's own G.711
 * at 8 kHz, `mulaw`/`alaw`, when that is its wire format) and run its client-side function calls. What it cannot do: truncate its context to what the caller heard (the API has no such
 * message), so after a barge-in it still believes the whole interrupted reply was said.
 */
export class DeepgramVoiceAgent implements AgentProvider {
  private readonly client: DeepgramClient;

  constructor(readonly name: string, private readonly config: DeepgramAgentConfig, private readonly deps: DeepgramAgentDeps) {
    this.client = new DeepgramClient({
      apiKey: deps.apiKey,
      environment: { ...DeepgramEnvironment.Production, agent: config.agent_url.replace(/\/+$/, '') },
      maxRetries: 0,
    });
  }

  async connect(options: AgentConnectOptions): Promise<AgentSession> {
    const { config } = this;
    const socket = await this.client.agent.v1.connect({
      reconnectAttempts: 0,
      connectionTimeoutInSeconds: config.connect_timeout_ms / 1000,
    } as Parameters<DeepgramClient['agent']['v1']['connect']>[0]);
    const audio = agentAudioFor(options.wire, config.sample_rate);
    const session = new DeepgramAgentSession(socket, audio, this.deps.log.child({ provider: this.name }));
    socket.connect();
    await withConnectDeadline(session.configure(settings(config, options, audio)), config.connect_timeout_ms, options.signal, () => session.close(), `Deepgram Voice Agent (${this.name})`);
    return session;
  }
}

function settings(config: DeepgramAgentConfig, options: AgentConnectOptions, audio: AgentAudio): agent.AgentV1Settings {
  const speak = options.voice ? { ...config.speak, provider: { ...config.speak.provider, model: options.voice } } : config.speak;
  const { encoding, sampleRate } = audio.vendor;
  return {
    type: 'Settings',
    audio: {
      input: { encoding, sample_rate: sampleRate },
      output: { encoding, sample_rate: sampleRate, container: 'none' },
    },
    agent: {
      // The stages are passed as configured (the API's own shape); the schema checked their outline.
      ...({
        listen: config.listen,
        think: {
          ...config.think,
          prompt: options.instructions,
          functions: options.tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters })),
        },
        speak,
      } as unknown as AgentStages),
      ...(options.greeting ? { greeting: options.greeting } : {}),
    },
  };
}

class DeepgramAgentSession extends EventEmitter<AgentSessionEvents> implements AgentSession {
  /** `MAX_SEND_BACKLOG_MS` of caller audio as sent. */
  private readonly maxSendBacklogBytes: number;
  /** Messages are handled strictly in arrival order: binary audio arrives as Blobs, read asynchronously. */
  private chain: Promise<void> = Promise.resolve();
  /** Agent audio is dropped from the caller's barge-in until the agent starts its next reply. */
  private muted = false;
  /** Function names by call id (the response must carry the name). */
  private readonly pendingCalls = new Map<string, string>();
  private configured: ((err?: Error) => void) | null = null;
  private closing = false;
  private ended = false;

  constructor(private readonly socket: AgentSocket, private readonly audio: AgentAudio, private readonly log: Logger) {
    super();
    this.maxSendBacklogBytes = MAX_SEND_BACKLOG_MS / audio.msOf(1);
    socket.on('message', this.onMessage);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Sends Settings once the socket is open; resolves on SettingsApplied. */
  configure(message: agent.AgentV1Settings): Promise<void> {
    return new Promise((resolve, reject) => {
      this.configured = (err) => (err ? reject(err) : resolve());
      this.socket.waitForOpen().then(
        () => {
          if (!this.closing) this.socket.sendSettings(message);
        },
        (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  get wireAudio(): boolean {
    return this.audio.passthrough;
  }

  writeAudio(pcm: Int16Array, wire?: Int16Array): void {
    if (!this.open) return;
    const backlog = this.socket.socket.bufferedAmount;
    if (backlog > this.maxSendBacklogBytes) {
      // The agent stopped reading: fail the session rather than queue more audio it would hear late.
      this.reportError(sendBacklogError('Deepgram Voice Agent', backlog));
      this.close();
      return;
    }
    this.socket.sendMedia(this.audio.toVendor(pcm, wire));
  }

  /** The API cannot truncate the agent's context; all we can do is stop playing what is still arriving. */
  truncate(_heardMs: number): void {
    this.muted = true;
  }

  sendToolResult(callId: string, result: string): void {
    const name = this.pendingCalls.get(callId);
    if (name === undefined) return;
    this.pendingCalls.delete(callId);
    if (this.open) this.socket.sendFunctionCallResponse({ type: 'FunctionCallResponse', id: callId, name, content: result });
  }

  say(text: string): void {
    if (this.open) this.socket.sendInjectAgentMessage({ type: 'InjectAgentMessage', message: text });
  }

  sendText(text: string): void {
    if (this.open) this.socket.sendInjectUserMessage({ type: 'InjectUserMessage', content: text });
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.configured?.(new Error('closed'));
    this.configured = null;
    this.socket.close();
    this.audio.destroy();
    // The SDK may not report the close of a socket it was still opening: the session is over either way.
    queueMicrotask(() => this.onClose());
  }

  private get open(): boolean {
    return !this.closing && this.socket.readyState === 1;
  }

  private readonly onMessage = (message: unknown): void => {
    if (message instanceof Blob) {
      this.chain = this.chain.then(async () => this.onAudio(new Uint8Array(await message.arrayBuffer())));
    } else {
      this.chain = this.chain.then(() => this.onJson(message as ServerMessage));
      // connect() resolves on SettingsApplied and its caller attaches listeners in the microtasks that follow;
      // the greeting comes right behind, so later messages wait one macrotask and none is emitted unheard.
      if ((message as ServerMessage).type === 'SettingsApplied') this.chain = this.chain.then(() => new Promise((r) => setImmediate(r)));
    }
    this.chain = this.chain.catch((err: unknown) => this.log.warn({ err }, 'Deepgram agent message could not be handled'));
  };

  private onAudio(bytes: Uint8Array): void {
    if (this.closing || this.muted || bytes.byteLength < 2) return;
    this.emit('audio', this.audio.fromVendor(bytes));
  }

  private onJson(message: ServerMessage): void {
    if (this.closing || typeof message !== 'object' || message === null) return;
    switch (message.type) {
      case 'SettingsApplied':
        this.configured?.();
        this.configured = null;
        return;
      case 'UserStartedSpeaking':
        this.emit('callerSpeech');
        return;
      case 'AgentStartedSpeaking':
        this.muted = false;
        return;
      case 'AgentAudioDone':
        this.emit('replyDone');
        return;
      case 'ConversationText':
        if (message.content.trim()) this.emit('transcript', message.role === 'user' ? 'caller' : 'agent', message.content.trim(), true);
        return;
      case 'FunctionCallRequest':
        for (const fn of message.functions) {
          // Server-side functions run at Deepgram; only client-side ones are ours.
          if (!fn.client_side) continue;
          this.pendingCalls.set(fn.id, fn.name);
          this.emit('toolCall', { id: fn.id, name: fn.name, arguments: fn.arguments });
        }
        return;
      case 'Warning':
        this.log.warn({ code: message.code, description: message.description }, 'Deepgram agent warning');
        return;
      case 'Error':
        this.fail(new Error(`Deepgram Voice Agent error ${message.code}: ${message.description}`));
        return;
      default:
        return;
    }
  }

  private fail(err: Error): void {
    if (this.configured) {
      this.configured(err);
      this.configured = null;
      return;
    }
    if (!this.closing) this.reportError(err);
  }

  /** EventEmitter throws an 'error' nobody listens to; from a socket handler that would end every call. */
  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private readonly onError = (err: Error): void => {
    this.fail(connectError('Deepgram Voice Agent', 'DEEPGRAM_API_KEY', err));
  };

  private readonly onClose = (event?: { code?: number }): void => {
    if (this.configured) {
      // A refused upgrade is reported as a close first and its reason (e.g. HTTP 401) just after: let it win.
      const configured = this.configured;
      setImmediate(() => configured(new Error(`Deepgram Voice Agent closed the connection (code ${event?.code ?? 'unknown'}) before the session was ready`)));
    }
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    this.audio.destroy();
    this.emit('close');
  };
}
