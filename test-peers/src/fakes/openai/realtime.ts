// One OpenAI Realtime (GA) WebSocket session: session.created/update, the input audio buffer with an
// energy-based server VAD, conversation items, scripted responses (audio + transcript, text, function
// calls), cancel, truncate and error events. Event names and fields follow the openai 6.x GA types.
// Size: one vendor session's documented event protocol; splitting it would scatter one state machine.
import type { WebSocket } from 'ws';
import type {
  ConversationItem,
  RealtimeAudioFormats,
  RealtimeClientEvent,
  RealtimeConversationItemAssistantMessage,
  RealtimeConversationItemFunctionCall,
  RealtimeConversationItemUserMessage,
  RealtimeResponse,
  RealtimeResponseCreateParams,
  RealtimeServerEvent,
  RealtimeSessionCreateRequest,
} from 'openai/resources/realtime/realtime';
import { chunkAudio, decodeToPcm16, encodePcm16, EnergyVad, renderPcm16, type AudioSource, type Encoding } from '../audio.ts';
import { dropConnection } from '../fake-server.ts';
import { fakeId, pause, stallUntil, type Pace, type ScriptQueue, type StreamFault } from '../script.ts';
import { wordDeltas, type ScriptedToolCall } from './chat.ts';

/** Send an `error` event (the session stays open) and end the response as `failed`. */
export interface ErrorEventFault {
  kind: 'error';
  afterChunks?: number;
  type?: string;
  code?: string;
  message?: string;
}

export interface RealtimeReply {
  /** Spoken transcript (audio modality) or text (text modality). */
  text?: string;
  /** Audio for the spoken answer; defaults to a tone whose length follows `text`. */
  audio?: AudioSource;
  toolCalls?: ScriptedToolCall[];
  /** Audio per `response.output_audio.delta` (default 100 ms). */
  chunkMs?: number;
  /** `firstByteMs` delays the first output item; `betweenChunksMs` paces deltas. */
  pace?: Pace;
  /** `afterChunks` counts delta events. */
  fault?: StreamFault | ErrorEventFault;
}

export interface RealtimeResponseRequest {
  session: RealtimeSessionCreateRequest;
  conversation: ConversationItem[];
  trigger: 'client' | 'server_vad';
  params?: RealtimeResponseCreateParams;
}

export interface RealtimeTranscriptRequest {
  itemId: string;
  audioMs: number;
}

export interface RealtimeScripts {
  responses: ScriptQueue<RealtimeReply, RealtimeResponseRequest>;
  /** Input transcripts, emitted only when the session enables `audio.input.transcription`. */
  transcripts: ScriptQueue<string, RealtimeTranscriptRequest>;
  /** RMS (fraction of full scale) above which a 20 ms window counts as speech. */
  vadRmsThreshold: number;
}

type ServerEventBody = RealtimeServerEvent extends infer E ? (E extends unknown ? Omit<E, 'event_id'> : never) : never;

const GA_SESSION_KEYS = new Set([
  'type', 'audio', 'include', 'instructions', 'max_output_tokens', 'model', 'output_modalities',
  'parallel_tool_calls', 'prompt', 'reasoning', 'tool_choice', 'tools', 'tracing', 'truncation',
]);

const FORMATS: Record<string, { encoding: Encoding; rate: number }> = {
  'audio/pcm': { encoding: 'linear16', rate: 24000 },
  'audio/pcmu': { encoding: 'mulaw', rate: 8000 },
  'audio/pcma': { encoding: 'alaw', rate: 8000 },
};

function formatOf(format: RealtimeAudioFormats | undefined): { encoding: Encoding; rate: number } {
  return FORMATS[format?.type ?? 'audio/pcm'] ?? FORMATS['audio/pcm']!;
}

/**
 * Why a session.update's audio format is refused, as the API documents the formats: `audio/pcm` with an
 * optional `rate` of 24000, `audio/pcmu` and `audio/pcma` with `type` alone (G.711 is 8 kHz by definition).
 */
function formatError(format: unknown, param: string): { code: string; message: string; param: string } | undefined {
  if (format === undefined) return undefined;
  if (!format || typeof format !== 'object') return { code: 'invalid_type', message: `Invalid type for '${param}': expected an object.`, param };
  const { type, ...rest } = format as Record<string, unknown>;
  if (typeof type !== 'string' || !(type in FORMATS)) {
    return { code: 'invalid_value', message: `Invalid value: '${String(type)}'. Supported values are: 'audio/pcm', 'audio/pcmu', and 'audio/pcma'.`, param: `${param}.type` };
  }
  for (const [key, value] of Object.entries(rest)) {
    if (key !== 'rate' || type !== 'audio/pcm') return { code: 'unknown_parameter', message: `Unknown parameter: '${param}.${key}'.`, param: `${param}.${key}` };
    if (value !== 24000) return { code: 'invalid_value', message: `Invalid '${param}.rate': only 24000 is supported.`, param: `${param}.rate` };
  }
  return undefined;
}

function defaultSession(model: string): RealtimeSessionCreateRequest {
  return {
    type: 'realtime',
    model,
    output_modalities: ['audio'],
    instructions: '',
    tools: [],
    tool_choice: 'auto',
    max_output_tokens: 'inf',
    truncation: 'auto',
    audio: {
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        turn_detection: {
          type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 200,
          idle_timeout_ms: null, create_response: true, interrupt_response: true,
        },
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'alloy', speed: 1 },
    },
  };
}

interface StoredItem {
  item: ConversationItem;
  /** Assistant audio actually sent, for truncate validation. */
  audioMs: number;
}

interface ActiveResponse {
  id: string;
  abort: AbortController;
  reason: 'turn_detected' | 'client_cancelled' | undefined;
}

/** What a test sees of a live Realtime connection. */
export class RealtimeSessionHandle {
  readonly model: string;
  /** Client events in arrival order; `input_audio_buffer.append` audio is replaced by its size. */
  readonly received: Array<RealtimeClientEvent | { type: 'input_audio_buffer.append'; bytes: number }> = [];
  readonly sent: RealtimeServerEvent[] = [];
  /** Date.now() when each of `sent` went out. */
  readonly sentAt: number[] = [];
  audioBytesReceived = 0;
  /** The appended input audio as received (decoded from base64), one entry per append. */
  readonly inputAudio: Buffer[] = [];
  /** Date.now() when the first session.update was applied. */
  configuredAt: number | undefined;
  closed = false;
  #session: RealtimeSession;

  constructor(model: string, session: RealtimeSession) {
    this.model = model;
    this.#session = session;
  }

  /** The effective session configuration. */
  get config(): RealtimeSessionCreateRequest {
    return this.#session.config;
  }

  /** Push an arbitrary server event (e.g. an `error`). */
  send(event: ServerEventBody): void {
    this.#session.emit(event);
  }

  drop(): void {
    this.#session.drop();
  }

  close(code = 1000, reason = ''): void {
    this.#session.close(code, reason);
  }
}

export class RealtimeSession {
  readonly handle: RealtimeSessionHandle;
  config: RealtimeSessionCreateRequest;
  readonly #ws: WebSocket;
  readonly #scripts: RealtimeScripts;
  readonly #items: StoredItem[] = [];
  readonly #conversationId = fakeId('conv');
  /** Client events are handled strictly in order, even when a step awaits a script. */
  #queue: Promise<void> = Promise.resolve();
  #active: ActiveResponse | undefined;
  #bufferBytes = 0;
  #vad: EnergyVad | undefined;
  #vadFormat: string | undefined;
  #vadOffsetMs = 0;
  #audioMs = 0;
  #speech: { itemId: string; silenceMs: number } | undefined;

  constructor(ws: WebSocket, model: string, scripts: RealtimeScripts) {
    this.#ws = ws;
    this.#scripts = scripts;
    this.config = defaultSession(model);
    this.handle = new RealtimeSessionHandle(model, this);
    ws.on('message', (data, isBinary) => {
      this.#queue = this.#queue.then(() => this.#onMessage(data.toString(), isBinary)).catch((err: unknown) => this.#serverError(err));
    });
    ws.on('close', () => {
      this.handle.closed = true;
      this.#active?.abort.abort();
    });
    ws.on('error', () => undefined);
    this.emit({ type: 'session.created', session: { ...this.config, ...{ id: fakeId('sess'), object: 'realtime.session', expires_at: Math.floor(Date.now() / 1000) + 3600 } } });
  }

  emit(event: ServerEventBody): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const full = { event_id: fakeId('event'), ...event } as RealtimeServerEvent;
    this.handle.sent.push(full);
    this.handle.sentAt.push(Date.now());
    this.#ws.send(JSON.stringify(full));
  }

  drop(): void {
    this.#active?.abort.abort();
    dropConnection(this.#ws);
  }

  close(code: number, reason: string): void {
    this.#active?.abort.abort();
    this.#ws.close(code, reason);
  }

  /** A fault in the fake or in a test's script function: reported like the vendor's server errors. */
  #serverError(err: unknown): void {
    this.emit({ type: 'error', error: { type: 'server_error', code: 'server_error', message: `fake server error: ${String(err)}`, param: null, event_id: null } });
  }

  #error(code: string, message: string, clientEventId?: string, param: string | null = null): void {
    this.emit({ type: 'error', error: { type: 'invalid_request_error', code, message, param, event_id: clientEventId ?? null } });
  }

  async #onMessage(text: string, isBinary: boolean): Promise<void> {
    let event: RealtimeClientEvent;
    try {
      if (isBinary) throw new Error('binary');
      event = JSON.parse(text) as RealtimeClientEvent;
      if (!event || typeof event.type !== 'string') throw new Error('no type');
    } catch {
      this.#error('invalid_json', "The server could not parse the message as JSON. Expected an object with a 'type' field.");
      return;
    }
    if (event.type === 'input_audio_buffer.append') {
      const bytes = typeof event.audio === 'string' ? Buffer.from(event.audio, 'base64') : Buffer.alloc(0);
      this.handle.received.push({ type: event.type, bytes: bytes.length });
      this.handle.audioBytesReceived += bytes.length;
      this.handle.inputAudio.push(bytes);
      return this.#append(bytes, event.event_id);
    }
    this.handle.received.push(event);
    switch (event.type) {
      case 'session.update':
        return this.#updateSession(event.session as unknown as Record<string, unknown>, event.event_id);
      case 'input_audio_buffer.commit':
        if (this.#bufferMs() < 100) {
          return this.#error('input_audio_buffer_commit_empty', `Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${this.#bufferMs().toFixed(2)}ms of audio.`, event.event_id);
        }
        return this.#commit(this.#speech?.itemId ?? fakeId('item'));
      case 'input_audio_buffer.clear':
        this.#bufferBytes = 0;
        this.#speech = undefined;
        this.emit({ type: 'input_audio_buffer.cleared' });
        return;
      case 'conversation.item.create':
        return this.#createItem(event.item, event.previous_item_id, event.event_id);
      case 'conversation.item.delete': {
        const index = this.#items.findIndex((s) => s.item.id === event.item_id);
        if (index < 0) return this.#error('item_not_found', `Item with item_id '${event.item_id}' not found.`, event.event_id, 'item_id');
        this.#items.splice(index, 1);
        this.emit({ type: 'conversation.item.deleted', item_id: event.item_id });
        return;
      }
      case 'conversation.item.retrieve': {
        const stored = this.#items.find((s) => s.item.id === event.item_id);
        if (!stored) return this.#error('item_not_found', `Item with item_id '${event.item_id}' not found.`, event.event_id, 'item_id');
        this.emit({ type: 'conversation.item.retrieved', item: stored.item });
        return;
      }
      case 'conversation.item.truncate':
        return this.#truncate(event.item_id, event.content_index, event.audio_end_ms, event.event_id);
      case 'response.create':
        if (this.#active) {
          return this.#error('conversation_already_has_active_response', `Conversation already has an active response in progress: ${this.#active.id}. Wait until the response is finished before creating a new one.`, event.event_id);
        }
        this.#startResponse('client', event.response);
        return;
      case 'response.cancel':
        if (!this.#active || (event.response_id && event.response_id !== this.#active.id)) {
          return this.#error('response_cancel_not_active', 'Cancellation failed: no active response found.', event.event_id);
        }
        this.#active.reason = 'client_cancelled';
        this.#active.abort.abort();
        return;
      default:
        this.#error('invalid_value', `Invalid value: '${(event as { type: string }).type}'. This event type is not supported by this session.`, (event as { event_id?: string }).event_id, 'type');
    }
  }

  #updateSession(update: Record<string, unknown> | undefined, eventId: string | undefined): void {
    if (!update || typeof update !== 'object') return this.#error('missing_required_parameter', "Missing required parameter: 'session'.", eventId, 'session');
    if (update.type === undefined) return this.#error('missing_required_parameter', "Missing required parameter: 'session.type'.", eventId, 'session.type');
    for (const key of Object.keys(update)) {
      // Beta-style fields (input_audio_format, voice, …) are rejected by the GA API; so are they here.
      if (!GA_SESSION_KEYS.has(key)) return this.#error('unknown_parameter', `Unknown parameter: 'session.${key}'.`, eventId, `session.${key}`);
    }
    const patch = update as Partial<RealtimeSessionCreateRequest>;
    const audio = patch.audio;
    const refused = formatError(audio?.input?.format, 'session.audio.input.format') ?? formatError(audio?.output?.format, 'session.audio.output.format');
    if (refused) return this.#error(refused.code, refused.message, eventId, refused.param);
    this.config = {
      ...this.config,
      ...patch,
      type: 'realtime',
      audio: {
        input: { ...this.config.audio?.input, ...audio?.input },
        output: { ...this.config.audio?.output, ...audio?.output },
      },
    };
    this.handle.configuredAt ??= Date.now();
    this.emit({ type: 'session.updated', session: this.config });
  }

  #inputFormat(): { encoding: Encoding; rate: number } {
    return formatOf(this.config.audio?.input?.format);
  }

  #bufferMs(): number {
    const f = this.#inputFormat();
    return (this.#bufferBytes / (f.rate * (f.encoding === 'linear16' ? 2 : 1))) * 1000;
  }

  #append(bytes: Buffer, eventId: string | undefined): void {
    if (bytes.length === 0) return this.#error('invalid_value', "Invalid 'audio'. Expected base64-encoded audio bytes.", eventId, 'audio');
    this.#bufferBytes += bytes.length;
    const format = this.#inputFormat();
    const turn = this.config.audio?.input?.turn_detection;
    if (!turn) {
      this.#audioMs += (bytes.length / (format.rate * (format.encoding === 'linear16' ? 2 : 1))) * 1000;
      return;
    }
    const formatKey = `${format.encoding}/${format.rate}`;
    if (!this.#vad || this.#vadFormat !== formatKey) {
      this.#vadOffsetMs = this.#audioMs;
      this.#vad = new EnergyVad(format.rate, this.#scripts.vadRmsThreshold);
      this.#vadFormat = formatKey;
    }
    const prefixMs = turn.type === 'server_vad' ? (turn.prefix_padding_ms ?? 300) : 300;
    const silenceMs = turn.type === 'server_vad' ? (turn.silence_duration_ms ?? 200) : 500;
    this.#vad.feed(decodeToPcm16(bytes, format.encoding), (endMs, isSpeech) => {
      const at = this.#vadOffsetMs + endMs;
      this.#audioMs = at;
      if (!this.#speech) {
        if (!isSpeech) return;
        this.#speech = { itemId: fakeId('item'), silenceMs: 0 };
        this.emit({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.max(0, at - 20 - prefixMs), item_id: this.#speech.itemId });
        if (this.#active && turn.interrupt_response !== false) {
          this.#active.reason = 'turn_detected';
          this.#active.abort.abort();
        }
        return;
      }
      this.#speech.silenceMs = isSpeech ? 0 : this.#speech.silenceMs + 20;
      if (this.#speech.silenceMs < silenceMs) return;
      const itemId = this.#speech.itemId;
      this.emit({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: at, item_id: itemId });
      this.#commit(itemId);
      if (turn.create_response !== false && !this.#active) this.#startResponse('server_vad');
    });
  }

  /** Commits the buffer as a user item; the transcript (if enabled) follows asynchronously, as it does for real. */
  #commit(itemId: string): void {
    const audioMs = this.#bufferMs();
    const previous = this.#lastItemId();
    this.#bufferBytes = 0;
    this.#speech = undefined;
    this.emit({ type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: previous });
    const item: RealtimeConversationItemUserMessage = { id: itemId, object: 'realtime.item', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: '' }] };
    this.#items.push({ item, audioMs: 0 });
    this.emit({ type: 'conversation.item.added', item, previous_item_id: previous });
    this.emit({ type: 'conversation.item.done', item, previous_item_id: previous });
    if (this.config.audio?.input?.transcription) this.#transcribe(item, audioMs).catch((err: unknown) => this.#serverError(err));
  }

  async #transcribe(item: RealtimeConversationItemUserMessage, audioMs: number): Promise<void> {
    const transcript = await this.#scripts.transcripts.next({ itemId: item.id!, audioMs });
    item.content[0]!.transcript = transcript;
    this.emit({
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: item.id!,
      content_index: 0,
      transcript,
      usage: { type: 'duration', seconds: audioMs / 1000 },
    });
  }

  #lastItemId(): string | null {
    return this.#items.at(-1)?.item.id ?? null;
  }

  #createItem(item: ConversationItem | undefined, previousId: string | undefined, eventId: string | undefined): void {
    if (!item || typeof item !== 'object' || typeof item.type !== 'string') {
      return this.#error('missing_required_parameter', "Missing required parameter: 'item'.", eventId, 'item');
    }
    let index = this.#items.length;
    if (previousId === 'root') index = 0;
    else if (previousId !== undefined) {
      const at = this.#items.findIndex((s) => s.item.id === previousId);
      if (at < 0) return this.#error('item_not_found', `Item with item_id '${previousId}' not found.`, eventId, 'previous_item_id');
      index = at + 1;
    }
    const stored: ConversationItem = { ...item, id: item.id ?? fakeId('item'), object: 'realtime.item', status: 'completed' } as ConversationItem;
    const previous = index > 0 ? (this.#items[index - 1]!.item.id ?? null) : null;
    this.#items.splice(index, 0, { item: stored, audioMs: 0 });
    this.emit({ type: 'conversation.item.added', item: stored, previous_item_id: previous });
    this.emit({ type: 'conversation.item.done', item: stored, previous_item_id: previous });
  }

  #truncate(itemId: string, contentIndex: number, audioEndMs: number, eventId: string | undefined): void {
    const stored = this.#items.find((s) => s.item.id === itemId);
    if (!stored) return this.#error('item_not_found', `Item with item_id '${itemId}' not found.`, eventId, 'item_id');
    if (stored.item.type !== 'message' || stored.item.role !== 'assistant') {
      return this.#error('invalid_value', 'Only assistant messages can be truncated.', eventId, 'item_id');
    }
    if (!Number.isFinite(audioEndMs) || audioEndMs < 0 || audioEndMs > stored.audioMs) {
      return this.#error('invalid_value', `audio_end_ms ${audioEndMs} is out of range: the item has ${Math.round(stored.audioMs)}ms of audio.`, eventId, 'audio_end_ms');
    }
    // What the caller never heard leaves the model's context, as with the real API.
    for (const part of stored.item.content) part.transcript = '';
    stored.audioMs = audioEndMs;
    this.emit({ type: 'conversation.item.truncated', item_id: itemId, content_index: contentIndex, audio_end_ms: audioEndMs });
  }

  #startResponse(trigger: 'client' | 'server_vad', params?: RealtimeResponseCreateParams): void {
    this.#respond(trigger, params).catch((err: unknown) => {
      this.#active = undefined;
      this.#serverError(err);
    });
  }

  async #respond(trigger: 'client' | 'server_vad', params?: RealtimeResponseCreateParams): Promise<void> {
    const active: ActiveResponse = { id: fakeId('resp'), abort: new AbortController(), reason: undefined };
    this.#active = active;
    const signal = active.abort.signal;
    const modalities = params?.output_modalities ?? this.config.output_modalities ?? ['audio'];
    const outputFormat = this.config.audio?.output?.format;
    const response: RealtimeResponse = {
      id: active.id,
      object: 'realtime.response',
      status: 'in_progress',
      conversation_id: this.#conversationId,
      output: [],
      output_modalities: modalities,
      max_output_tokens: 'inf',
      audio: { output: { format: outputFormat, voice: typeof this.config.audio?.output?.voice === 'string' ? this.config.audio.output.voice : 'alloy' } },
    };
    this.emit({ type: 'response.created', response: { ...response, output: [] } });
    const reply = await this.#scripts.responses.next({
      session: this.config,
      conversation: this.#items.map((s) => s.item),
      trigger,
      ...(params ? { params } : {}),
    });
    const stream = new DeltaStream(reply, signal, this);
    let stopped = !(await pause(reply.pace?.firstByteMs, signal));
    let outputIndex = 0;
    for (const call of reply.toolCalls ?? []) {
      if (stopped) break;
      stopped = !(await this.#functionCall(call, active.id, outputIndex++, response, stream));
    }
    const text = reply.text ?? (reply.toolCalls?.length ? undefined : 'Hello from the fake realtime model.');
    if (!stopped && text !== undefined) {
      await this.#message(text, reply, active.id, outputIndex, modalities.includes('audio'), response, stream);
    }
    if (stream.dropped) return;
    this.#active = undefined;
    const status = stream.errored ? 'failed' : signal.aborted ? 'cancelled' : 'completed';
    response.status = status;
    if (status === 'cancelled') response.status_details = { type: 'cancelled', reason: active.reason ?? 'client_cancelled' };
    if (status === 'failed') response.status_details = { type: 'failed', error: { type: 'server_error', code: stream.errorCode } };
    response.usage = {
      total_tokens: 60, input_tokens: 40, output_tokens: 20,
      input_token_details: { text_tokens: 20, audio_tokens: 20, cached_tokens: 0 },
      output_token_details: { text_tokens: 10, audio_tokens: 10 },
    };
    this.emit({ type: 'response.done', response });
  }

  async #functionCall(call: ScriptedToolCall, responseId: string, outputIndex: number, response: RealtimeResponse, stream: DeltaStream): Promise<boolean> {
    const args = typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments);
    const item: RealtimeConversationItemFunctionCall = {
      id: fakeId('item'), object: 'realtime.item', type: 'function_call', status: 'in_progress',
      name: call.name, call_id: call.id ?? fakeId('call'), arguments: '',
    };
    const previous = this.#lastItemId();
    this.#items.push({ item, audioMs: 0 });
    response.output!.push(item);
    this.emit({ type: 'response.output_item.added', response_id: responseId, output_index: outputIndex, item: { ...item } });
    this.emit({ type: 'conversation.item.added', item: { ...item }, previous_item_id: previous });
    let sent = '';
    for (let i = 0; i < args.length; i += 8) {
      const delta = args.slice(i, i + 8);
      if (!(await stream.before())) break;
      this.emit({ type: 'response.function_call_arguments.delta', response_id: responseId, item_id: item.id!, output_index: outputIndex, call_id: item.call_id!, delta });
      sent += delta;
    }
    if (stream.dropped) return false;
    const complete = sent === args;
    item.arguments = sent;
    item.status = complete ? 'completed' : 'incomplete';
    this.emit({ type: 'response.function_call_arguments.done', response_id: responseId, item_id: item.id!, output_index: outputIndex, call_id: item.call_id!, name: item.name, arguments: sent });
    this.emit({ type: 'response.output_item.done', response_id: responseId, output_index: outputIndex, item });
    this.emit({ type: 'conversation.item.done', item, previous_item_id: previous });
    return complete;
  }

  async #message(
    text: string, reply: RealtimeReply, responseId: string, outputIndex: number, withAudio: boolean,
    response: RealtimeResponse, stream: DeltaStream,
  ): Promise<void> {
    const item: RealtimeConversationItemAssistantMessage = { id: fakeId('item'), object: 'realtime.item', type: 'message', role: 'assistant', status: 'in_progress', content: [] };
    const stored: StoredItem = { item, audioMs: 0 };
    const previous = this.#lastItemId();
    this.#items.push(stored);
    response.output!.push(item);
    const ids = { response_id: responseId, item_id: item.id!, output_index: outputIndex, content_index: 0 };
    this.emit({ type: 'response.output_item.added', response_id: responseId, output_index: outputIndex, item: { ...item, content: [] } });
    this.emit({ type: 'conversation.item.added', item: { ...item, content: [] }, previous_item_id: previous });
    this.emit({ type: 'response.content_part.added', ...ids, part: withAudio ? { type: 'audio', transcript: '' } : { type: 'text', text: '' } });

    const words = wordDeltas(text);
    let said = '';
    if (withAudio) {
      const format = formatOf(this.config.audio?.output?.format);
      const bytesPerMs = (format.rate * (format.encoding === 'linear16' ? 2 : 1)) / 1000;
      const audio = chunkAudio(encodePcm16(renderPcm16(reply.audio, text, format.rate), format.encoding), bytesPerMs, reply.chunkMs ?? 100);
      // Transcript and audio deltas interleave, as the real stream does.
      for (let i = 0; i < Math.max(words.length, audio.length); i++) {
        if (i < words.length) {
          if (!(await stream.before())) break;
          this.emit({ type: 'response.output_audio_transcript.delta', ...ids, delta: words[i]! });
          said += words[i];
        }
        if (i < audio.length) {
          if (!(await stream.before())) break;
          this.emit({ type: 'response.output_audio.delta', ...ids, delta: audio[i]!.toString('base64') });
          stored.audioMs += audio[i]!.length / bytesPerMs;
        }
      }
      if (stream.dropped) return;
      this.emit({ type: 'response.output_audio.done', ...ids });
      this.emit({ type: 'response.output_audio_transcript.done', ...ids, transcript: said });
      this.emit({ type: 'response.content_part.done', ...ids, part: { type: 'audio', transcript: said } });
      item.content = [{ type: 'output_audio', transcript: said }];
    } else {
      for (const word of words) {
        if (!(await stream.before())) break;
        this.emit({ type: 'response.output_text.delta', ...ids, delta: word });
        said += word;
      }
      if (stream.dropped) return;
      this.emit({ type: 'response.output_text.done', ...ids, text: said });
      this.emit({ type: 'response.content_part.done', ...ids, part: { type: 'text', text: said } });
      item.content = [{ type: 'output_text', text: said }];
    }
    item.status = stream.interrupted ? 'incomplete' : 'completed';
    this.emit({ type: 'response.output_item.done', response_id: responseId, output_index: outputIndex, item });
    this.emit({ type: 'conversation.item.done', item, previous_item_id: previous });
  }
}

/** Gatekeeper before every delta event: pacing, cancellation and the scripted fault. */
class DeltaStream {
  dropped = false;
  errored = false;
  errorCode: string | undefined;
  #sent = 0;
  readonly #reply: RealtimeReply;
  readonly #signal: AbortSignal;
  readonly #session: RealtimeSession;

  constructor(reply: RealtimeReply, signal: AbortSignal, session: RealtimeSession) {
    this.#reply = reply;
    this.#signal = signal;
    this.#session = session;
  }

  get interrupted(): boolean {
    return this.dropped || this.errored || this.#signal.aborted;
  }

  /** True if the next delta may be sent. */
  async before(): Promise<boolean> {
    if (this.interrupted) return false;
    const fault = this.#reply.fault;
    if (fault && this.#sent === (fault.afterChunks ?? 0)) {
      if (fault.kind === 'drop') {
        this.dropped = true;
        this.#session.drop();
        return false;
      }
      if (fault.kind === 'error') {
        this.errored = true;
        this.errorCode = fault.code ?? 'server_error';
        this.#session.emit({
          type: 'error',
          error: { type: fault.type ?? 'server_error', code: this.errorCode, message: fault.message ?? 'The server had an error while processing your request.', param: null, event_id: null },
        });
        return false;
      }
      // A stall ends only when the response is cancelled (or the connection goes away).
      await stallUntil(this.#signal);
      return false;
    }
    if (this.#sent > 0 && !(await pause(this.#reply.pace?.betweenChunksMs, this.#signal))) return false;
    this.#sent += 1;
    return !this.#signal.aborted;
  }
}
