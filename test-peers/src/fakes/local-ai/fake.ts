// A stand-in for the local AI server (local-ai-server/PROTOCOL.md, version 1), scripted per stream like the
// vendor fakes, for tests that need its failures on demand: refused or dropped connections, `busy` and
// `engine_error` answers, streams that stall. Written from the protocol document, not the server's code.
// Recognition is keyed on the audio received: a stream yields its scripted text only if speech was heard.
import type { WebSocket } from 'ws';
import { safeEqual, bearerToken } from '@ai-agent/common';
import { EnergyVad, chunkAudio, renderPcm16, type AudioSource } from '../audio.ts';
import { dropConnection, startFakeServer, type PlainAnswer, type RecordedRequest } from '../fake-server.ts';
import { pause, ScriptQueue, type Fault, type Pace, type StatusFault } from '../script.ts';
import { wordDeltas } from '../openai/chat.ts';

/** What one recognition stream hears: its final's text, said after speech was heard. */
export interface LocalSttScript {
  text?: string;
  /** Partials sent before the final, paced by `pace` (a recogniser still decoding its backlog). */
  partials?: string[];
  pace?: Pace;
  fault?: Fault;
}
export interface LocalChatReply {
  text?: string;
  toolCalls?: Array<{ name: string; arguments: Record<string, unknown> }>;
  pace?: Pace;
  fault?: Fault;
}
export interface LocalTtsReply {
  audio?: AudioSource;
  chunkMs?: number;
  pace?: Pace;
  fault?: Fault;
}

/** One stream as the fake saw it. */
export interface LocalStreamRecord {
  kind: 'stt' | 'chat' | 'tts';
  id: number;
  /** The opening message (stt.start / chat / tts.start). */
  start: Record<string, unknown>;
  /** Client messages after the start, by type (stt.end, chat.cancel, tts.cancel, …). */
  controls: string[];
  audioBytes: number;
  /** Speech was heard in the stream's audio. */
  heard: boolean;
}

export interface LocalAiFake {
  readonly url: string;
  readonly token: string;
  readonly connections: ScriptQueue<{ reject?: StatusFault }, RecordedRequest>;
  readonly stt: ScriptQueue<LocalSttScript, LocalStreamRecord>;
  readonly chat: ScriptQueue<LocalChatReply, LocalStreamRecord>;
  readonly tts: ScriptQueue<LocalTtsReply, LocalStreamRecord>;
  readonly streams: LocalStreamRecord[];
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Quiet after speech that ends an utterance on the server's side (its `vad_postspeech`, here 600 ms). */
const POSTSPEECH_MS = 600;
const HELLO = { type: 'hello', protocol: 1, capabilities: { stt: ['fake'], tts: ['fake'], voices: ['slt'], llm: 'fake' } };

/** The protocol's answer to a scripted status: 429 is `busy`, 5xx `engine_error` (the connection stays). */
function errorCode(fault: StatusFault): string {
  return fault.status === 429 ? 'busy' : fault.status >= 500 ? 'engine_error' : 'invalid_message';
}

export async function startLocalAiFake(opts: { token?: string } = {}): Promise<LocalAiFake> {
  const token = opts.token ?? 'fake-local-token';
  const connections = new ScriptQueue<{ reject?: StatusFault }, RecordedRequest>({});
  const stt = new ScriptQueue<LocalSttScript, LocalStreamRecord>({ text: 'hello' });
  const chat = new ScriptQueue<LocalChatReply, LocalStreamRecord>({ text: 'Hello from the local fake.' });
  const tts = new ScriptQueue<LocalTtsReply, LocalStreamRecord>({});
  const streams: LocalStreamRecord[] = [];
  const refusal = (status: number): PlainAnswer => ({ status, body: status === 401 ? 'Unauthorized' : 'Service Unavailable' });

  const server = await startFakeServer({
    authorize: (req) => safeEqual(bearerToken(req.headers.authorization) ?? '', token),
    unauthorized: () => refusal(401),
    notFound: () => ({ status: 404, body: 'Not Found' }),
    http: {},
    ws: {
      '/': {
        async accept(ctx) {
          const step = await connections.next(ctx.record);
          return step.reject ? refusal(step.reject.status) : undefined;
        },
        connect: (ws) => serve(ws, { stt, chat, tts, streams }),
      },
    },
  });
  return { url: `ws://${server.origin}`, token, connections, stt, chat, tts, streams, requests: server.requests, close: () => server.close() };
}

interface Scripts {
  stt: ScriptQueue<LocalSttScript, LocalStreamRecord>;
  chat: ScriptQueue<LocalChatReply, LocalStreamRecord>;
  tts: ScriptQueue<LocalTtsReply, LocalStreamRecord>;
  streams: LocalStreamRecord[];
}

interface Open {
  record: LocalStreamRecord;
  /** Ends the stream's answer early (cancel, stall released at close). */
  stop: AbortController;
  /** A TTS stream's text so far. */
  text?: string;
  /** A stall fault hit: the stream answers nothing more. */
  stalled?: boolean;
  stt?: { vad: EnergyVad; rate: number; quietMs: number; speaking: boolean; script: Promise<LocalSttScript>; final?: Promise<boolean> };
}

function serve(ws: WebSocket, scripts: Scripts): void {
  const open = new Map<number, Open>();
  const send = (msg: Record<string, unknown>): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const gone = new AbortController();
  ws.on('close', () => {
    gone.abort();
    for (const s of open.values()) s.stop.abort();
  });
  ws.on('error', () => undefined);
  send(HELLO);

  /** Sends `items` (JSON or audio) one by one with the script's pacing and fault; false if the stream stopped. */
  const play = async (s: Open, items: Array<Record<string, unknown> | Buffer>, pace: Pace = {}, fault?: Fault): Promise<boolean> => {
    const signal = AbortSignal.any([s.stop.signal, gone.signal]);
    if (!(await pause(pace.firstByteMs, signal))) return false;
    for (let i = 0; i <= items.length; i++) {
      if (fault && fault.kind !== 'status' && i === (fault.afterChunks ?? 0)) {
        if (fault.kind === 'drop') dropConnection(ws);
        else s.stalled = true; // nothing more on this stream; the connection stays open
        return false;
      }
      if (i === items.length) return true;
      if (i > 0 && !(await pause(pace.betweenChunksMs, signal))) return false;
      const item = items[i]!;
      if (Buffer.isBuffer(item)) ws.send(Buffer.concat([Buffer.from([s.record.id]), item]));
      else send(item);
    }
    return true;
  };

  /**
   * Sends the utterance's final (if speech was heard), once: an end that comes while it is still on its way
   * waits for it, as the server closes a stream only after its final. False when the script stalled or dropped.
   */
  const sttFinal = (s: Open): Promise<boolean> => {
    if (!s.stt || !s.record.heard) return Promise.resolve(true);
    return (s.stt.final ??= (async () => {
      const script = await s.stt!.script;
      if (script.fault?.kind === 'status') {
        send({ type: 'error', id: s.record.id, code: errorCode(script.fault), message: 'recognition failed' });
        return true;
      }
      const id = s.record.id;
      const partials = (script.partials ?? []).map((text) => ({ type: 'stt.partial', id, text }));
      return play(s, [...partials, { type: 'stt.final', id, text: script.text ?? '', grammar: false }], script.pace, script.fault);
    })());
  };

  const onAudio = (frame: Buffer): void => {
    const s = open.get(frame[0]!);
    if (!s?.stt) return send({ type: 'error', id: frame[0], code: 'unknown_stream', message: 'no such stream' });
    const audio = frame.subarray(1);
    s.record.audioBytes += audio.length;
    s.stt.vad.feed(audio, (_endMs, speech) => {
      const st = s.stt!;
      if (speech) {
        st.quietMs = 0;
        s.record.heard = true;
        if (!st.speaking) send({ type: 'stt.speech_start', id: s.record.id });
        st.speaking = true;
      } else if (st.speaking && (st.quietMs += 20) >= POSTSPEECH_MS) {
        st.speaking = false;
        void sttFinal(s);
      }
    });
  };

  /** The whole text of a TTS stream, after its end: audio frames, `tts.sentence`, `tts.done`. */
  const synthesize = async (o: Open): Promise<void> => {
    const id = o.record.id;
    const reply = await scripts.tts.next(o.record);
    if (reply.fault?.kind === 'status') {
      open.delete(id);
      send({ type: 'error', id, code: errorCode(reply.fault), message: 'synthesis failed' });
      // A sentence the engine failed on is skipped: the stream still ends with tts.done.
      if (errorCode(reply.fault) === 'engine_error') send({ type: 'tts.done', id });
      return;
    }
    const rate = o.record.start.sampleRate as number;
    const text = o.text ?? '';
    const pcm = renderPcm16(reply.audio, text, rate);
    const items = [...chunkAudio(pcm, (rate * 2) / 1000, reply.chunkMs ?? 100), { type: 'tts.sentence', id, text, samples: pcm.length / 2 }];
    if (await play(o, items, reply.pace, reply.fault)) {
      open.delete(id);
      send({ type: 'tts.done', id });
    }
  };

  const start = (kind: LocalStreamRecord['kind'], msg: Record<string, unknown>): Open => {
    const record: LocalStreamRecord = { kind, id: msg.id as number, start: msg, controls: [], audioBytes: 0, heard: false };
    scripts.streams.push(record);
    const s: Open = { record, stop: new AbortController() };
    open.set(record.id, s);
    return s;
  };

  const onMessage = async (msg: Record<string, unknown>): Promise<void> => {
    const id = msg.id as number;
    const s = open.get(id);
    if (s && msg.type !== 'stt.start' && msg.type !== 'chat' && msg.type !== 'tts.start' && msg.type !== 'tts.text') s.record.controls.push(String(msg.type));
    switch (msg.type) {
      case 'ping':
        return send({ type: 'pong' });
      case 'stt.start': {
        const o = start('stt', msg);
        const rate = msg.sampleRate as number;
        o.stt = { vad: new EnergyVad(rate), rate, quietMs: 0, speaking: false, script: scripts.stt.next(o.record) };
        const script = await o.stt.script;
        if (script.fault?.kind === 'status' && script.fault.status === 429) {
          open.delete(id);
          return send({ type: 'error', id, code: 'busy', message: 'every recognition slot is taken' });
        }
        return send({ type: 'stt.ready', id });
      }
      case 'stt.end':
        if (!s || s.stalled || !(await sttFinal(s))) return;
        open.delete(id);
        return send({ type: 'stt.closed', id });
      case 'chat': {
        const o = start('chat', msg);
        const reply = await scripts.chat.next(o.record);
        if (reply.fault?.kind === 'status') {
          open.delete(id);
          return send({ type: 'error', id, code: errorCode(reply.fault), message: 'chat failed' });
        }
        const items: Array<Record<string, unknown>> = [
          ...wordDeltas(reply.text ?? '').map((text) => ({ type: 'chat.delta', id, text })),
          ...(reply.toolCalls ?? []).map((c) => ({ type: 'chat.tool_call', id, name: c.name, arguments: c.arguments })),
        ];
        if (await play(o, items, reply.pace, reply.fault)) {
          open.delete(id);
          send({ type: 'chat.done', id, reason: reply.toolCalls?.length ? 'tool_call' : 'stop' });
        }
        return;
      }
      case 'tts.start': {
        const o = start('tts', msg);
        o.text = String(msg.text ?? '');
        return msg.end === true ? synthesize(o) : undefined;
      }
      case 'tts.text':
        if (s) s.text = `${s.text ?? ''}${String(msg.text)}`;
        return;
      case 'tts.end':
        return s ? synthesize(s) : undefined;
      case 'chat.cancel':
      case 'tts.cancel':
        if (!s) return;
        s.stop.abort();
        open.delete(id);
        return send(msg.type === 'chat.cancel' ? { type: 'chat.done', id, reason: 'cancelled' } : { type: 'tts.done', id });
      default:
        return;
    }
  };

  ws.on('message', (data, isBinary) => {
    const buf = data as Buffer;
    if (isBinary) return onAudio(buf);
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(buf.toString('utf8')) as Record<string, unknown>;
    } catch {
      return send({ type: 'error', code: 'bad_json', message: 'not JSON' });
    }
    void onMessage(msg);
  });
}
