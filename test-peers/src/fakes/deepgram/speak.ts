// POST /v1/speak?model=…&encoding=…&sample_rate=…&container=…  body {"text": …}: streamed audio.
// linear16 / mulaw / alaw come in a WAV container unless `container=none`, as with the real API.
import { sendPlain, type RouteContext } from '../fake-server.ts';
import { streamChunks } from '../http-stream.ts';
import { bytesPerSample, chunkAudio, encodePcm16, renderPcm16, wavHeader, type AudioSource, type Encoding } from '../audio.ts';
import type { Fault, Pace, ScriptQueue } from '../script.ts';
import { badRequest, statusFaultAnswer } from './errors.ts';

export interface SpeakReply {
  /** Defaults to a 440 Hz tone, ~40 ms per character. */
  audio?: AudioSource;
  /** Audio per streamed chunk (default 100 ms). */
  chunkMs?: number;
  pace?: Pace;
  fault?: Fault;
}

export interface SpeakRequest {
  text: string;
  query: Record<string, string>;
}

const DEFAULT_RATE: Record<Encoding, number> = { linear16: 24000, mulaw: 8000, alaw: 8000 };

export async function handleSpeak(ctx: RouteContext, body: unknown, replies: ScriptQueue<SpeakReply, SpeakRequest>): Promise<void> {
  const query = Object.fromEntries(ctx.url.searchParams);
  const text = (body as { text?: unknown } | undefined)?.text;
  if (typeof text !== 'string' || text.length === 0) return sendPlain(ctx.res, badRequest('Request body must contain a non-empty "text" field.'));
  const encoding = (query.encoding ?? 'mp3') as Encoding;
  if (!(encoding in DEFAULT_RATE)) {
    // The fake cannot produce compressed audio; saying so beats sending bytes that are not what was asked.
    return sendPlain(ctx.res, badRequest(`encoding '${encoding}' is not supported by this fake; use linear16, mulaw or alaw.`));
  }
  const rate = query.sample_rate ? Number(query.sample_rate) : DEFAULT_RATE[encoding];
  if (!Number.isInteger(rate) || rate < 8000 || rate > 48000) return sendPlain(ctx.res, badRequest(`Invalid sample_rate: ${query.sample_rate}`));
  const container = query.container ?? 'wav';
  if (container !== 'wav' && container !== 'none') return sendPlain(ctx.res, badRequest(`Invalid container: ${container}`));

  const reply = await replies.next({ text, query });
  if (reply.fault?.kind === 'status') return sendPlain(ctx.res, statusFaultAnswer(reply.fault));
  const audio = encodePcm16(renderPcm16(reply.audio, text, rate), encoding);
  const chunks = chunkAudio(audio, (rate * bytesPerSample(encoding)) / 1000, reply.chunkMs ?? 100);
  if (container === 'wav') chunks.unshift(wavHeader(audio.length, rate, encoding));
  ctx.res.writeHead(200, {
    'content-type': container === 'wav' ? 'audio/wav' : 'application/octet-stream',
    'transfer-encoding': 'chunked',
    'dg-request-id': crypto.randomUUID(),
    'dg-model-name': query.model ?? 'aura-2-thalia-en',
    'dg-char-count': String(text.length),
  });
  return streamChunks(ctx.res, chunks, ctx.signal, reply.pace, reply.fault);
}
