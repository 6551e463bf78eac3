// A local stand-in for api.deepgram.com and agent.deepgram.com: give the real SDK
// `environment: fake.environment`.
import type { IncomingMessage } from 'node:http';
import { safeEqual } from '@ai-agent/common';
import { readBody, sendPlain, startFakeServer, type RecordedRequest } from '../fake-server.ts';
import { ScriptQueue } from '../script.ts';
import { AgentSession, type AgentReply, type AgentReplyRequest, type AgentScript, type AgentSessionHandle } from './agent.ts';
import { badRequest, deepgramError, statusFaultAnswer, unauthorizedAnswer } from './errors.ts';
import { ListenSession, listenFormat, type ListenRequest, type ListenScript, type ListenSessionHandle } from './listen.ts';
import { handleSpeak, type SpeakReply, type SpeakRequest } from './speak.ts';

export interface DeepgramFakeOptions {
  /** The key the fake accepts as `Authorization: Token <key>`. */
  apiKey?: string;
  /** Close a silent stream (no audio, no KeepAlive) after this long; Deepgram's is ~10 s. */
  idleTimeoutMs?: number;
  /** Keep each live stream's audio bytes (`sessions[i].audio`), to compare with what the caller sent. */
  keepAudio?: boolean;
}

/** The SDK's `environment` option: every URL points at the fake. */
export interface DeepgramEnvironmentUrls {
  base: string;
  production: string;
  agent: string;
  agentRest: string;
}

export interface DeepgramFake {
  readonly environment: DeepgramEnvironmentUrls;
  readonly port: number;
  readonly apiKey: string;
  readonly listen: {
    /** One script per connection, in order. */
    readonly scripts: ScriptQueue<ListenScript, ListenRequest>;
    readonly sessions: ListenSessionHandle[];
  };
  readonly speak: ScriptQueue<SpeakReply, SpeakRequest>;
  readonly agent: {
    /** One script per connection, in order. */
    readonly scripts: ScriptQueue<AgentScript, RecordedRequest>;
    /** One reply per user turn (audio utterance or InjectUserMessage). */
    readonly replies: ScriptQueue<AgentReply, AgentReplyRequest>;
    readonly sessions: AgentSessionHandle[];
  };
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

function token(req: IncomingMessage): string | undefined {
  const match = /^Token\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

export async function startDeepgramFake(opts: DeepgramFakeOptions = {}): Promise<DeepgramFake> {
  const apiKey = opts.apiKey ?? 'fake-deepgram-key';
  const idleTimeoutMs = opts.idleTimeoutMs ?? 10_000;
  const listen = { scripts: new ScriptQueue<ListenScript, ListenRequest>({}), sessions: [] as ListenSessionHandle[] };
  const speak = new ScriptQueue<SpeakReply, SpeakRequest>({});
  const agent = {
    scripts: new ScriptQueue<AgentScript, RecordedRequest>({}),
    replies: new ScriptQueue<AgentReply, AgentReplyRequest>((req) => ({ text: `You said: ${req.userText}` })),
    sessions: [] as AgentSessionHandle[],
  };
  /** Scripts taken at accept time, handed to the session once the socket is open. */
  const accepted = new WeakMap<RecordedRequest, ListenScript | AgentScript>();

  const server = await startFakeServer({
    authorize: (req) => safeEqual(token(req) ?? '', apiKey),
    unauthorized: () => unauthorizedAnswer(),
    notFound: (req) => deepgramError(404, 'NOT_FOUND', `No route for ${req.method} ${req.url?.split('?')[0]}`),
    http: {
      'POST /v1/speak': async (ctx) => {
        let body: unknown;
        try {
          body = JSON.parse((await readBody(ctx.req)).toString('utf8'));
        } catch {
          return sendPlain(ctx.res, badRequest('Content-type was application/json, but we could not process the JSON payload.'));
        }
        ctx.record.body = body;
        return handleSpeak(ctx, body, speak);
      },
    },
    ws: {
      '/v1/listen': {
        async accept(ctx) {
          const format = listenFormat(ctx.record.query);
          if (typeof format === 'string') return badRequest(format);
          const script = await listen.scripts.next({ query: ctx.record.query });
          if (script.reject) return statusFaultAnswer(script.reject);
          accepted.set(ctx.record, script);
          return undefined;
        },
        upgradeHeaders: () => ({ 'dg-request-id': crypto.randomUUID() }),
        connect(ws, ctx) {
          const format = listenFormat(ctx.record.query);
          const script = (accepted.get(ctx.record) ?? {}) as ListenScript;
          const session = new ListenSession(ws, ctx.record.query, typeof format === 'string' ? undefined : format, script, idleTimeoutMs, opts.keepAudio);
          listen.sessions.push(session.handle);
        },
      },
      '/v1/agent/converse': {
        async accept(ctx) {
          const script = await agent.scripts.next(ctx.record);
          if (script.reject) return statusFaultAnswer(script.reject);
          accepted.set(ctx.record, script);
          return undefined;
        },
        upgradeHeaders: () => ({ 'dg-request-id': crypto.randomUUID() }),
        connect(ws, ctx) {
          const session = new AgentSession(ws, (accepted.get(ctx.record) ?? {}) as AgentScript, agent.replies, idleTimeoutMs);
          agent.sessions.push(session.handle);
        },
      },
    },
  });

  const http = `http://${server.origin}`;
  const ws = `ws://${server.origin}`;
  return {
    environment: { base: http, production: ws, agent: ws, agentRest: http },
    port: server.port,
    apiKey,
    listen,
    speak,
    agent,
    requests: server.requests,
    close: () => server.close(),
  };
}
