// The adapters under test, each wired the way the registry wires it (real SDK, base URL at the test peer's fake)
// and able to script its fake for the conformance cases: a turn, each fault, and what a cancel looks like there.
import { providerInstanceSchema } from '@ai-agent/common';
import {
  startDeepgramFake, startLocalAiFake, startOpenAiFake, parseWav, type DeepgramFake, type Fault, type LocalAiFake, type OpenAiFake,
} from '@ai-agent/test-peers';
import { deepgramClient, type DeepgramConfig } from '../../../src/providers/deepgram/client.ts';
import { DeepgramStt } from '../../../src/providers/deepgram/stt.ts';
import { DeepgramTts } from '../../../src/providers/deepgram/tts.ts';
import { LocalAiPool } from '../../../src/providers/local-ai/connection-pool.ts';
import { LocalAiLlm } from '../../../src/providers/local-ai/llm.ts';
import { LocalAiStt } from '../../../src/providers/local-ai/stt.ts';
import { LocalAiTts } from '../../../src/providers/local-ai/tts.ts';
import { openAiClient, type OpenAiConfig } from '../../../src/providers/openai/client.ts';
import { OpenAiLlm } from '../../../src/providers/openai/llm.ts';
import { OpenAiStt } from '../../../src/providers/openai/stt.ts';
import { OpenAiTts } from '../../../src/providers/openai/tts.ts';
import type { LlmProvider, SttProvider, TtsProvider } from '../../../src/providers/types.ts';
import { recordingLogger, TEST_IDLE_MS, type FaultKind, type RecordingLogger, type Turn } from './common.ts';

export interface Subject<P> {
  readonly name: string;
  /** The secret the adapter holds; it must never show. */
  readonly key: string;
  readonly logger: RecordingLogger;
  /** A fresh adapter (fresh connections) on the running fake. */
  make(): P;
}

export interface SttSubject extends Subject<SttProvider> {
  /** The next stream hears `turn` and transcribes its speech as `text`. */
  scriptTurn(text: string, turn: Turn): void;
  scriptFault(kind: FaultKind, turn: Turn): void;
  /** Makes the next answer slow, so a close catches it in flight. */
  armCancel(turn: Turn): void;
  /** The fake holds the stream (or request) with caller audio in it. */
  inFlight(): boolean;
  /** What the fake saw of the close, when it has seen it the vendor's way. */
  cancelSeen(): string | false;
  stop(): Promise<void>;
}

export interface LlmSubject extends Subject<LlmProvider> {
  scriptReply(text: string, tool?: { name: string; arguments: Record<string, unknown> }, betweenChunksMs?: number): void;
  scriptFault(kind: FaultKind): void;
  cancelSeen(): string | false;
  stop(): Promise<void>;
}

export interface TtsSubject extends Subject<TtsProvider> {
  scriptPaced(betweenChunksMs: number): void;
  scriptFault(kind: FaultKind): void;
  cancelSeen(): string | false;
  stop(): Promise<void>;
}

/** A fault as the HTTP fakes take it: a status, or a stream that drops or stalls after two chunks. */
function httpFault(kind: FaultKind): Fault {
  return typeof kind === 'number' ? { kind: 'status', status: kind } : { kind, afterChunks: 2 };
}

const lastAborted = (fake: { requests: Array<{ path: string; clientAborted: boolean }> }, path: string): string | false => {
  const request = fake.requests.filter((r) => r.path === path).at(-1);
  return request?.clientAborted ? `${path} aborted by the client` : false;
};

// ---- OpenAI (one fake serving all three stages) ----

export interface OpenAiSubjects {
  stt: SttSubject;
  llm: LlmSubject;
  tts: TtsSubject;
}

export async function openAiSubjects(): Promise<OpenAiSubjects> {
  const key = 'sk-conformance-openai-7f3a9c2e1b';
  const fake: OpenAiFake = await startOpenAiFake({ apiKey: key });
  const config = providerInstanceSchema.parse({ type: 'openai', base_url: fake.baseURL, connect_timeout_ms: 2000, idle_timeout_ms: TEST_IDLE_MS }) as OpenAiConfig;
  const client = openAiClient(config, key);
  const logger = recordingLogger();
  const transcriptions = (): number => fake.requests.filter((r) => r.path === '/v1/audio/transcriptions').length;
  let requestsBeforeCancel = 0;
  let stops = 0;
  const stop = async (): Promise<void> => {
    if (++stops === 3) await fake.close();
  };
  return {
    stt: {
      name: 'openai stt',
      key,
      logger,
      make: () => new OpenAiStt('openai', client, config),
      scriptTurn: (text, turn) =>
        fake.transcription.push((req) => {
          // Keyed on what was received: the text only for a WAV as long as the turn's speech (with its pre-roll).
          const wav = parseWav(req.file.bytes);
          const ms = (wav.data.length / 2 / wav.rate) * 1000;
          const speechMs = turn.speech.endMs - turn.speech.startMs;
          return { text: ms >= speechMs && ms <= speechMs + 1500 ? text : `unexpected ${Math.round(ms)} ms of audio` };
        }),
      scriptFault: (kind) => fake.transcription.push({ text: 'never', fault: httpFault(kind) }),
      armCancel: () => {
        requestsBeforeCancel = transcriptions();
        fake.transcription.push({ text: 'too late', pace: { firstByteMs: 3000 } });
      },
      inFlight: () => transcriptions() > requestsBeforeCancel,
      cancelSeen: () => lastAborted(fake, '/v1/audio/transcriptions'),
      stop,
    },
    llm: {
      name: 'openai llm',
      key,
      logger,
      make: () => new OpenAiLlm('openai', client, config),
      scriptReply: (text, tool, betweenChunksMs) =>
        fake.chat.push({ text, ...(tool ? { toolCalls: [tool] } : {}), ...(betweenChunksMs ? { pace: { betweenChunksMs } } : {}) }),
      scriptFault: (kind) => fake.chat.push({ text: 'one two three four five six', fault: httpFault(kind) }),
      cancelSeen: () => lastAborted(fake, '/v1/chat/completions'),
      stop,
    },
    tts: {
      name: 'openai tts',
      key,
      logger,
      make: () => new OpenAiTts('openai', client, config),
      scriptPaced: (betweenChunksMs) => fake.speech.push({ chunkMs: 100, pace: { betweenChunksMs } }),
      scriptFault: (kind) => fake.speech.push({ fault: httpFault(kind) }),
      cancelSeen: () => lastAborted(fake, '/v1/audio/speech'),
      stop,
    },
  };
}

// ---- Deepgram (listen and speak on one fake) ----

export async function deepgramSubjects(): Promise<{ stt: SttSubject; tts: TtsSubject }> {
  const key = 'dg-conformance-deepgram-4d8e2f6a0c';
  const fake: DeepgramFake = await startDeepgramFake({ apiKey: key });
  const config = providerInstanceSchema.parse({
    type: 'deepgram',
    base_url: fake.environment.base,
    connect_timeout_ms: 2000,
    idle_timeout_ms: TEST_IDLE_MS,
    stt: { finalize_timeout_ms: TEST_IDLE_MS },
  }) as DeepgramConfig;
  const client = deepgramClient(config, key);
  const logger = recordingLogger();
  const session = () => fake.listen.sessions.at(-1);
  let stops = 0;
  const stop = async (): Promise<void> => {
    if (++stops === 2) await fake.close();
  };
  return {
    stt: {
      name: 'deepgram stt',
      key,
      logger,
      make: () => new DeepgramStt('deepgram', client, config),
      // Deepgram's recognition is clocked by the audio it receives: the words sit where the prompt's speech is.
      scriptTurn: (text, turn) =>
        fake.listen.scripts.push({ utterances: [{ atMs: turn.speech.startMs, durationMs: turn.speech.endMs - turn.speech.startMs, text }] }),
      scriptFault: (kind, turn) =>
        fake.listen.scripts.push(
          typeof kind === 'number'
            ? { reject: { kind: 'status', status: kind } }
            : { utterances: [{ atMs: turn.speech.startMs, text: 'lost words' }], fault: { kind, atMs: turn.speech.startMs + 100 } },
        ),
      armCancel: () => undefined,
      inFlight: () => (session()?.audioBytes ?? 0) > 0,
      cancelSeen: () => {
        const s = session();
        return s?.closed && s.received.some((m) => m.type === 'CloseStream') ? 'CloseStream, then the socket closed' : false;
      },
      stop,
    },
    tts: {
      name: 'deepgram tts',
      key,
      logger,
      make: () => new DeepgramTts('deepgram', client, config),
      scriptPaced: (betweenChunksMs) => fake.speak.push({ chunkMs: 100, pace: { betweenChunksMs } }),
      scriptFault: (kind) => fake.speak.push({ fault: httpFault(kind) }),
      cancelSeen: () => lastAborted(fake, '/v1/speak'),
      stop,
    },
  };
}

// ---- Local AI (the protocol fake; each adapter gets its own pool, so a refused connect is a fresh one) ----

export async function localAiSubjects(): Promise<{ stt: SttSubject; llm: LlmSubject; tts: TtsSubject }> {
  const fake: LocalAiFake = await startLocalAiFake({ token: 'local-conformance-token-5b1c7e9d3f' });
  const logger = recordingLogger();
  const pools: LocalAiPool[] = [];
  const pool = (): LocalAiPool => {
    const p = new LocalAiPool({ url: fake.url, token: fake.token, connectTimeoutMs: 1000, log: logger.log });
    pools.push(p);
    return p;
  };
  /** 401 is the connection's (a fresh pool connects); 429/500 are the protocol's `busy` / `engine_error`. */
  const fault = (kind: FaultKind, queue: { push(step: { fault: Fault; text?: string }): unknown }, afterChunks: number): void => {
    if (kind === 401) fake.connections.push({ reject: { kind: 'status', status: 401 } });
    else queue.push({ text: 'one two three four five', fault: typeof kind === 'number' ? { kind: 'status', status: kind } : { kind, afterChunks } });
  };
  const controls = (kind: 'stt' | 'chat' | 'tts', control: string): string | false => {
    const s = fake.streams.filter((r) => r.kind === kind).at(-1);
    return s?.controls.includes(control) ? `${control} for stream ${s.id}` : false;
  };
  let stops = 0;
  const stop = async (): Promise<void> => {
    if (++stops < 3) return;
    await Promise.all(pools.map((p) => p.close()));
    await fake.close();
  };
  const base = { key: fake.token, logger };
  return {
    stt: {
      ...base,
      name: 'local stt',
      // No busy retries: a scripted 429 stands for a server that stays busy past them (local-ai-stt-busy.test.ts).
      make: () => new LocalAiStt('local', pool(), TEST_IDLE_MS, 0),
      scriptTurn: (text) => fake.stt.push({ text }),
      scriptFault: (kind) => fault(kind, fake.stt, 0),
      armCancel: () => undefined,
      inFlight: () => (fake.streams.filter((r) => r.kind === 'stt').at(-1)?.audioBytes ?? 0) > 0,
      cancelSeen: () => controls('stt', 'stt.end'),
      stop,
    },
    llm: {
      ...base,
      name: 'local llm',
      make: () => new LocalAiLlm('local', pool(), TEST_IDLE_MS),
      scriptReply: (text, tool, betweenChunksMs) =>
        fake.chat.push({ text, ...(tool ? { toolCalls: [tool] } : {}), ...(betweenChunksMs ? { pace: { betweenChunksMs } } : {}) }),
      scriptFault: (kind) => fault(kind, fake.chat, 2),
      cancelSeen: () => controls('chat', 'chat.cancel'),
      stop,
    },
    tts: {
      ...base,
      name: 'local tts',
      make: () => new LocalAiTts('local', pool(), TEST_IDLE_MS),
      scriptPaced: (betweenChunksMs) => fake.tts.push({ chunkMs: 100, pace: { betweenChunksMs } }),
      scriptFault: (kind) => fault(kind, fake.tts, 2),
      cancelSeen: () => controls('tts', 'tts.cancel'),
      stop,
    },
  };
}
