// A test call from the admin UI's browser softphone: the operator talks to a context through the engine's real
// conversation, tools, records and metrics, so what they hear is what callers will hear. There is no Asterisk
// channel: the media stream is the WebSocket itself, in chan_websocket's own protocol (the page plays
// Asterisk's part: slin16 frames both ways, FLUSH_MEDIA on barge-in, MARK_MEDIA answered with
// MEDIA_MARK_PROCESSED once played, DTMF_END from a keypad), plus JSON messages with a `type` key that keep the
// page informed: {type:'call'}, {type:'state'}, {type:'turn'}, {type:'event'}, {type:'ended'}.
import type { WebSocket } from 'ws';
import { scrub } from '@ai-agent/common';
import type { CallEventRecord, CallOutcome, CallRecordSink, TurnRecord } from '../call/index.ts';
import type { Pacer } from '../audio/pacer.ts';
import { WsMediaStream, type WsMediaStreamOptions } from '../transport/websocket/ws-media-stream.ts';
import { ChannelLessSession, type ChannelLessDeps } from './channel-less-session.ts';
import type { ManagedSession } from './session-registry.ts';

/** 20 ms of slin16: what the page sends and receives per message. */
const FRAME_BYTES = 640;
/** How often the page is told the conversation's state (listening, thinking, speaking) when it changed. */
const STATE_POLL_MS = 100;

export interface TestCallRequest {
  /** A configured context (checked by the caller of `start`). */
  context: string;
  /** Who placed it, as the admin UI's audit log names them (a user, or `token:<name>`). */
  by: string;
}

export interface TestCallDeps extends ChannelLessDeps {
  pacer: Pacer;
  stream?: Pick<WsMediaStreamOptions, 'resamplerQuality' | 'jitterMinDelayMs' | 'jitterMaxDelayMs' | 'maxQueueSeconds'>;
}

/** The call record's caller name for a test call: how history and the dashboard tell it from a phone call. */
export function testCallerName(by: string): string {
  return `test call (${by})`;
}

/** One browser test call: the page's socket is its media and also carries the live transcript to the page. */
export class TestCallSession extends ChannelLessSession {
  protected readonly media: WsMediaStream;
  private stateTimer: NodeJS.Timeout | undefined;
  private lastState = '';

  constructor(private readonly ws: WebSocket, request: TestCallRequest, deps: TestCallDeps) {
    super(
      { context: request.context, callerName: testCallerName(request.by), transport: 'browser', codec: 'slin16' },
      { context: request.context, testCall: true },
      deps,
      'a test call from the browser has no Asterisk channel',
    );
    this.media = new WsMediaStream(
      ws,
      { connectionId: this.id, channel: 'browser', channelId: this.id, format: 'slin16', optimalFrameSize: FRAME_BYTES, ptime: 20, controlFormat: 'json', fields: {} },
      { ...deps.stream, id: this.id, pacer: deps.pacer, log: this.log.child({ transport: 'browser' }) },
    );
  }

  /** Everything the record gets, the page sees at once: the live transcript with per-turn latency. */
  private readonly pageSink: CallRecordSink = {
    turn: (turn: TurnRecord) => {
      this.recorder.sink.turn(turn);
      this.tell({ type: 'turn', turn: { ...turn, text: scrub(turn.text) } });
    },
    event: (event: CallEventRecord) => {
      this.recorder.sink.event(event);
      // Tool arguments may hold what the caller said (an account number): the record applies the store's
      // policy; the page gets the event's kind and time only, beyond barge-ins.
      this.tell(event.kind === 'barge_in' ? { type: 'event', event: { ...event, heardText: scrub(event.heardText) } } : { type: 'event', event: { kind: event.kind, at: event.at } });
    },
  };

  protected override get sink(): CallRecordSink {
    return this.pageSink;
  }

  protected started(): void {
    this.log.info('browser test call started');
    this.tell({ type: 'call', id: this.id, context: this.info.context });
    this.stateTimer = setInterval(() => this.tellState(), STATE_POLL_MS);
  }

  protected closeMedia(outcome: CallOutcome, cause: string): void {
    clearInterval(this.stateTimer);
    this.tell({ type: 'ended', outcome, reason: cause });
    this.media.close(cause);
  }

  private tellState(): void {
    const state = this.snapshot().state;
    if (state === this.lastState) return;
    this.lastState = state;
    this.tell({ type: 'state', state });
  }

  /** A JSON message to the page; nothing once the socket is closing. */
  private tell(message: Record<string, unknown>): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(JSON.stringify(message));
  }
}

/** Starts test calls on accepted sockets and lists them with the engine's other calls. */
export class TestCalls {
  constructor(
    private readonly deps: TestCallDeps & {
      registry: { add(session: ManagedSession): void };
      /** The contexts of the running config (a reload adds or removes some). */
      contexts: () => Readonly<Record<string, unknown>>;
    },
  ) {}

  hasContext(name: string): boolean {
    return Object.hasOwn(this.deps.contexts(), name);
  }

  start(ws: WebSocket, request: TestCallRequest): TestCallSession {
    const session = new TestCallSession(ws, request, this.deps);
    this.deps.registry.add(session);
    void session.run();
    return session;
  }
}
