import { EventEmitter } from 'node:events';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import type { RealtimeAudioFormats, RealtimeServerEvent, RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import type { Logger, ProvidersConfig } from '@ai-agent/common';
import type { AgentConnectOptions, AgentProvider, AgentSession, AgentSessionEvents, ToolCall } from '../types.ts';
import { agentAudioFor, MAX_SEND_BACKLOG_MS, sendBacklogError, type AgentAudio } from '../shared/audio-bridge.ts';
import { connectError, withConnectDeadline } from '../shared/connect.ts';

export type OpenAiRealtimeConfig = Extract<ProvidersConfig[string], { type: 'openai_realtime' }>;

/** The Realtime API's `audio/pcm` format: PCM16 at 24 kHz (its only rate). */
const PCM_RATE = 24000;
/** The API's names of the formats it takes both ways: `audio/pcm` at 24 kHz, or G.711 at 8 kHz (no rate field). */
const FORMATS = { linear16: 'audio/pcm', mulaw: 'audio/pcmu', alaw: 'audio/pcma' } as const;

export interface OpenAiRealtimeDeps {
  apiKey: string;
  log: Logger;
  /** Extra CA (PEM) the socket trusts; for a local stand-in with its own certificate. Production: system store. */
  ca?: string;
}

/**
 * OpenAI Realtime through the official SDK's WebSocket client (`OpenAIRealtimeWS`, GA event names). Server VAD
 * detects the caller's turns and barge-ins; the SDK always dials wss://, whatever the base URL's scheme. Audio
 * is 24 kHz PCM both ways, or the call's own G.711 (`audio/pcmu`, `audio/pcma`) when that is its wire format.
 */
export class OpenAiRealtimeAgent implements AgentProvider {
  private readonly client: OpenAI;

  constructor(readonly name: string, private readonly config: OpenAiRealtimeConfig, private readonly deps: OpenAiRealtimeDeps) {
    this.client = new OpenAI({ apiKey: deps.apiKey, baseURL: config.base_url, maxRetries: 0 });
  }

  async connect(options: AgentConnectOptions): Promise<AgentSession> {
    const { config } = this;
    const rt = new OpenAIRealtimeWS(
      { model: config.model, options: { handshakeTimeout: config.connect_timeout_ms, ...(this.deps.ca ? { ca: this.deps.ca } : {}) } },
      this.client,
    );
    const audio = agentAudioFor(options.wire, PCM_RATE);
    const session = new OpenAiRealtimeSession(rt, audio, this.deps.log.child({ provider: this.name }));
    const ready = session.configure(sessionRequest(config, options, audio));
    await withConnectDeadline(ready, config.connect_timeout_ms, options.signal, () => session.close(), `OpenAI Realtime (${this.name})`);
    if (options.greeting) session.say(options.greeting);
    return session;
  }
}

function sessionRequest(config: OpenAiRealtimeConfig, options: AgentConnectOptions, audio: AgentAudio): RealtimeSessionCreateRequest {
  const format: RealtimeAudioFormats = audio.vendor.encoding === 'linear16' ? { type: FORMATS.linear16, rate: PCM_RATE } : { type: FORMATS[audio.vendor.encoding] };
  return {
    type: 'realtime',
    instructions: options.instructions,
    output_modalities: ['audio'],
    audio: {
      input: {
        format,
        turn_detection: { type: 'server_vad', silence_duration_ms: config.silence_duration_ms, create_response: true, interrupt_response: true },
        ...(config.input_transcription_model ? { transcription: { model: config.input_transcription_model, language: options.language.slice(0, 2) } } : {}),
      },
      output: { format, voice: options.voice ?? config.voice },
    },
    tools: options.tools.map((t) => ({ type: 'function' as const, name: t.name, description: t.description, parameters: t.parameters })),
    tool_choice: 'auto',
  };
}

/** Error codes the API answers a client event with, while the session itself is fine (races, not failures). */
const RECOVERABLE = new Set(['response_cancel_not_active', 'conversation_already_has_active_response', 'item_truncate_invalid_item_id']);

class OpenAiRealtimeSession extends EventEmitter<AgentSessionEvents> implements AgentSession {
  /** The assistant item whose audio is arriving, how much of it (ms), and its transcript so far. */
  private item: { id: string; ms: number; text: string } | null = null;
  /** Items cut by a barge-in: late deltas of theirs are dropped. */
  private readonly cut = new Set<string>();
  private responseActive = false;
  /** Function calls of the response in progress: handed out when it is done, as the API expects. */
  private calls: ToolCall[] = [];
  /** Tool results still owed for the last batch; the next response starts when none is. */
  private owed = 0;
  private configured: ((err?: Error) => void) | null = null;
  private closing = false;
  private ended = false;

  /** `MAX_SEND_BACKLOG_MS` of caller audio as sent: base64 of it (the JSON around it is not counted). */
  private readonly maxSendBacklogBytes: number;

  constructor(private readonly rt: OpenAIRealtimeWS, private readonly audio: AgentAudio, private readonly log: Logger) {
    super();
    this.maxSendBacklogBytes = ((MAX_SEND_BACKLOG_MS / audio.msOf(1)) / 3) * 4;
    rt.on('event', this.onEvent);
    rt.on('error', this.onError);
    rt.socket.on('close', this.onClose);
  }

  /** Sends the session configuration; resolves once the API confirmed it. */
  configure(session: RealtimeSessionCreateRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      this.configured = (err) => (err ? reject(err) : resolve());
      const send = (): void => this.rt.send({ type: 'session.update', session });
      if (this.rt.socket.readyState === this.rt.socket.OPEN) send();
      else this.rt.socket.once('open', send);
    });
  }

  get wireAudio(): boolean {
    return this.audio.passthrough;
  }

  writeAudio(pcm: Int16Array, wire?: Int16Array): void {
    if (!this.open) return;
    if (this.rt.socket.bufferedAmount > this.maxSendBacklogBytes) {
      this.stalled();
      return;
    }
    this.rt.send({ type: 'input_audio_buffer.append', audio: this.audio.toVendor(pcm, wire).toString('base64') });
  }

  truncate(heardMs: number): void {
    const item = this.item;
    if (this.responseActive) this.send({ type: 'response.cancel' });
    if (!item) return;
    this.cut.add(item.id);
    this.item = null;
    // Never past the audio the API sent for the item (it refuses that), never negative.
    const audioEndMs = Math.max(0, Math.min(Math.round(heardMs), Math.floor(item.ms)));
    this.send({ type: 'conversation.item.truncate', item_id: item.id, content_index: 0, audio_end_ms: audioEndMs });
  }

  sendToolResult(callId: string, result: string): void {
    this.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: callId, output: result } });
    if (this.owed > 0 && --this.owed === 0) this.send({ type: 'response.create' });
  }

  say(text: string): void {
    // The model speaks only through a response; these instructions apply to this one response alone.
    this.send({
      type: 'response.create',
      response: { instructions: `Say exactly the following to the caller, word for word, and nothing else: ${text}`, tool_choice: 'none' },
    });
  }

  sendText(text: string): void {
    this.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
    this.send({ type: 'response.create' });
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.configured?.(new Error('closed'));
    this.configured = null;
    const socket = this.rt.socket;
    if (socket.readyState === socket.CONNECTING) socket.terminate();
    else this.rt.close({ code: 1000, reason: 'call ended' });
    this.audio.destroy();
  }

  /** The API stopped reading: fail the session and drop the connection (a close frame would queue behind). */
  private stalled(): void {
    const err = sendBacklogError('OpenAI Realtime', this.rt.socket.bufferedAmount);
    this.closing = true;
    this.rt.socket.terminate();
    this.audio.destroy();
    this.reportError(err);
  }

  /** EventEmitter throws an 'error' nobody listens to; from a socket handler that would end every call. */
  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private get open(): boolean {
    return !this.closing && this.rt.socket.readyState === this.rt.socket.OPEN;
  }

  private send(event: Parameters<OpenAIRealtimeWS['send']>[0]): void {
    if (this.open) this.rt.send(event);
  }

  private readonly onEvent = (event: RealtimeServerEvent): void => {
    if (this.closing) return;
    switch (event.type) {
      case 'session.updated':
        this.configured?.();
        this.configured = null;
        return;
      case 'input_audio_buffer.speech_started':
        this.emit('callerSpeech');
        return;
      case 'conversation.item.input_audio_transcription.completed':
        if (event.transcript.trim()) this.emit('transcript', 'caller', event.transcript.trim(), true);
        return;
      case 'response.created':
        this.responseActive = true;
        return;
      case 'response.output_audio.delta': {
        if (this.cut.has(event.item_id)) return;
        if (this.item?.id !== event.item_id) this.item = { id: event.item_id, ms: 0, text: '' };
        const bytes = Buffer.from(event.delta, 'base64');
        this.item.ms += this.audio.msOf(bytes.length);
        this.emit('audio', this.audio.fromVendor(bytes));
        return;
      }
      case 'response.output_audio_transcript.delta':
        if (this.cut.has(event.item_id) || this.item?.id !== event.item_id) return;
        this.item.text += event.delta;
        this.emit('transcript', 'agent', this.item.text, false);
        return;
      case 'response.output_audio_transcript.done':
        if (!this.cut.has(event.item_id)) this.emit('transcript', 'agent', event.transcript, true);
        return;
      case 'response.function_call_arguments.done':
        this.calls.push({ id: event.call_id, name: event.name, arguments: event.arguments });
        return;
      case 'response.done': {
        this.responseActive = false;
        const calls = this.calls;
        this.calls = [];
        this.emit('replyDone');
        if (event.response.status !== 'completed') return;
        this.owed = calls.length;
        for (const call of calls) this.emit('toolCall', call);
        return;
      }
      default:
        return;
    }
  };

  private readonly onError = (err: Error & { error?: { type?: string; code?: string | null; message?: string; param?: string | null } }): void => {
    if (this.closing) return;
    const apiError = err.error;
    if (this.configured && apiError?.type === 'invalid_request_error') {
      // Nothing but the session.update is pending: the API refused our settings, so the session cannot start.
      this.configured(new Error(`OpenAI Realtime refused the session settings (${apiError.param ?? apiError.code ?? 'unknown'}): ${apiError.message ?? ''}`));
      this.configured = null;
      return;
    }
    if (apiError && (apiError.type === 'invalid_request_error' || RECOVERABLE.has(apiError.code ?? ''))) {
      // An event the API refused: the session goes on. Races (a cancel after the response ended) are expected.
      const expected = RECOVERABLE.has(apiError.code ?? '');
      this.log[expected ? 'debug' : 'warn']({ code: apiError.code, type: apiError.type }, 'OpenAI Realtime refused a client event');
      return;
    }
    const failure = connectError('OpenAI Realtime', 'OPENAI_API_KEY', err);
    if (this.configured) {
      this.configured(failure);
      this.configured = null;
      return;
    }
    this.reportError(failure);
  };

  private readonly onClose = (code: number): void => {
    this.configured?.(new Error(`OpenAI Realtime closed the connection (code ${code}) before the session was ready`));
    this.configured = null;
    this.audio.destroy();
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    this.emit('close');
  };
}
