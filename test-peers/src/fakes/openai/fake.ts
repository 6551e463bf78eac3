// A local stand-in for api.openai.com: point the real SDK's `baseURL` at `fake.baseURL`.
import type { IncomingMessage } from 'node:http';
import { bearerToken, safeEqual } from '@ai-agent/common';
import { readBody, sendPlain, startFakeServer, type RecordedRequest } from '../fake-server.ts';
import { ScriptQueue, type StatusFault } from '../script.ts';
import { createLoopbackCertificate } from '../tls.ts';
import { defaultChatReply, handleChat, type ChatReply, type ChatRequest } from './chat.ts';
import { badRequest, openAiError, statusFaultAnswer, unauthorizedAnswer } from './errors.ts';
import { RealtimeSession, type RealtimeReply, type RealtimeResponseRequest, type RealtimeSessionHandle, type RealtimeTranscriptRequest } from './realtime.ts';
import { handleSpeech, type SpeechReply, type SpeechRequest } from './speech.ts';
import { handleTranscription, parseMultipart, type TranscriptionReply, type TranscriptionRequest } from './transcription.ts';

export interface OpenAiFakeOptions {
  /**
   * The key the fake accepts as `Authorization: Bearer <key>`. null: a keyless server (llama.cpp without
   * `--api-key`, Ollama), which here refuses a request that carries any Authorization header, so a test sees
   * that none was sent.
   */
  apiKey?: string | null;
  /** Energy threshold of the Realtime server VAD (RMS as a fraction of full scale; default 0.02). */
  vadRmsThreshold?: number;
  /**
   * Serve https/wss with a fresh self-signed certificate (see `ca`). Needed by the SDK's
   * OpenAIRealtimeWS helper, which always dials wss://.
   */
  tls?: boolean;
}

/** Per Realtime connection: accept it, or refuse the upgrade with an HTTP status. */
export interface RealtimeConnectStep {
  reject?: StatusFault;
}

export interface OpenAiFake {
  /** `http://127.0.0.1:<port>/v1`: the SDK's `baseURL`. */
  readonly baseURL: string;
  /** `ws://127.0.0.1:<port>/v1/realtime` (add `?model=…`). */
  readonly realtimeURL: string;
  readonly port: number;
  /** null when keyless. */
  readonly apiKey: string | null;
  /** With `tls`: the PEM certificate clients must trust (e.g. ws option `ca`). */
  readonly ca: string | undefined;
  readonly chat: ScriptQueue<ChatReply, ChatRequest>;
  readonly speech: ScriptQueue<SpeechReply, SpeechRequest>;
  readonly transcription: ScriptQueue<TranscriptionReply, TranscriptionRequest>;
  readonly realtime: {
    readonly connections: ScriptQueue<RealtimeConnectStep, RecordedRequest>;
    readonly responses: ScriptQueue<RealtimeReply, RealtimeResponseRequest>;
    readonly transcripts: ScriptQueue<string, RealtimeTranscriptRequest>;
    readonly sessions: RealtimeSessionHandle[];
  };
  /** Every request and upgrade, in arrival order (without credentials). */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

async function jsonBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
}

export async function startOpenAiFake(opts: OpenAiFakeOptions = {}): Promise<OpenAiFake> {
  const apiKey = opts.apiKey === undefined ? 'sk-fake-openai-key' : opts.apiKey;
  const chat = new ScriptQueue<ChatReply, ChatRequest>(defaultChatReply);
  const speech = new ScriptQueue<SpeechReply, SpeechRequest>({});
  const transcription = new ScriptQueue<TranscriptionReply, TranscriptionRequest>({ text: 'hello world' });
  const realtime = {
    connections: new ScriptQueue<RealtimeConnectStep, RecordedRequest>({}),
    responses: new ScriptQueue<RealtimeReply, RealtimeResponseRequest>({}),
    transcripts: new ScriptQueue<string, RealtimeTranscriptRequest>('hello'),
    sessions: [] as RealtimeSessionHandle[],
  };
  const invalidJson = badRequest('We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)');

  const certificate = opts.tls ? await createLoopbackCertificate() : undefined;
  const server = await startFakeServer({
    ...(certificate ? { tls: certificate } : {}),
    authorize: (req) => (apiKey === null ? req.headers.authorization === undefined : safeEqual(bearerToken(req.headers.authorization) ?? '', apiKey)),
    unauthorized: (req) => unauthorizedAnswer(bearerToken(req.headers.authorization) !== undefined),
    notFound: (req) => openAiError(404, `Invalid URL (${req.method} ${req.url?.split('?')[0]})`, 'invalid_request_error', null),
    http: {
      'POST /v1/chat/completions': async (ctx) => {
        const body = await jsonBody(ctx.req);
        ctx.record.body = body;
        if (body === undefined) return sendPlain(ctx.res, invalidJson);
        return handleChat(ctx, body, chat);
      },
      'POST /v1/audio/speech': async (ctx) => {
        const body = await jsonBody(ctx.req);
        ctx.record.body = body;
        if (body === undefined) return sendPlain(ctx.res, invalidJson);
        return handleSpeech(ctx, body, speech);
      },
      'POST /v1/audio/transcriptions': async (ctx) => {
        const parsed = await parseMultipart(ctx.req.headers['content-type'] ?? '', await readBody(ctx.req));
        ctx.record.body = typeof parsed === 'string' ? undefined : { ...parsed.fields, file: { filename: parsed.file.filename, contentType: parsed.file.contentType, bytes: parsed.file.bytes.length } };
        return handleTranscription(ctx, parsed, transcription);
      },
    },
    ws: {
      '/v1/realtime': {
        async accept(ctx) {
          if (!ctx.url.searchParams.get('model')) return badRequest("Missing required parameter: 'model'.", 'model');
          const step = await realtime.connections.next(ctx.record);
          return step.reject ? statusFaultAnswer(step.reject) : undefined;
        },
        connect(ws, ctx) {
          const session = new RealtimeSession(ws, ctx.url.searchParams.get('model')!, {
            responses: realtime.responses,
            transcripts: realtime.transcripts,
            vadRmsThreshold: opts.vadRmsThreshold ?? 0.02,
          });
          realtime.sessions.push(session.handle);
        },
      },
    },
  });

  const secure = certificate ? 's' : '';
  return {
    baseURL: `http${secure}://${server.origin}/v1`,
    realtimeURL: `ws${secure}://${server.origin}/v1/realtime`,
    port: server.port,
    apiKey,
    ca: certificate?.cert,
    chat,
    speech,
    transcription,
    realtime,
    requests: server.requests,
    close: () => server.close(),
  };
}
