// POST /v1/audio/speech: streamed audio body; `pcm` is raw 24 kHz s16le, `wav` a RIFF file around it.
import type { SpeechCreateParams } from 'openai/resources/audio/speech';
import { sendPlain, type RouteContext } from '../fake-server.ts';
import { streamChunks } from '../http-stream.ts';
import { chunkAudio, renderPcm16, wavHeader, type AudioSource } from '../audio.ts';
import { fakeId, type Fault, type Pace, type ScriptQueue } from '../script.ts';
import { badRequest, statusFaultAnswer } from './errors.ts';

/** OpenAI TTS always produces 24 kHz audio. */
export const OPENAI_TTS_RATE = 24000;

export interface SpeechReply {
  /** Defaults to a 440 Hz tone, ~40 ms per input character. */
  audio?: AudioSource;
  /** Audio per streamed chunk (default 100 ms). */
  chunkMs?: number;
  pace?: Pace;
  fault?: Fault;
}

export type SpeechRequest = SpeechCreateParams;

const CONTENT_TYPES: Record<string, string> = { pcm: 'audio/pcm', wav: 'audio/wav' };

export async function handleSpeech(ctx: RouteContext, body: unknown, replies: ScriptQueue<SpeechReply, SpeechRequest>): Promise<void> {
  const request = body as SpeechRequest | undefined;
  if (!request || typeof request.model !== 'string') return sendPlain(ctx.res, badRequest('you must provide a model parameter', 'model'));
  if (typeof request.input !== 'string' || request.input.length === 0) {
    return sendPlain(ctx.res, badRequest("Invalid 'input': string too short. Expected a string with minimum length 1.", 'input'));
  }
  if (request.voice === undefined) return sendPlain(ctx.res, badRequest("Missing required parameter: 'voice'.", 'voice'));
  const format = request.response_format ?? 'mp3';
  if (!(format in CONTENT_TYPES)) {
    // The fake cannot encode compressed formats; failing loudly beats sending bytes that are not what was asked.
    return sendPlain(ctx.res, badRequest(`response_format '${format}' is not supported by this fake; use 'pcm' or 'wav'.`, 'response_format'));
  }
  if (request.instructions !== undefined && /^tts-1/.test(request.model)) {
    // As the API: voice instructions exist only for the gpt-4o TTS models.
    return sendPlain(ctx.res, badRequest(`instructions are not supported with the model '${request.model}'.`, 'instructions'));
  }
  if (request.stream_format === 'sse') {
    return sendPlain(ctx.res, badRequest("stream_format 'sse' is not supported by this fake; use 'audio'.", 'stream_format'));
  }

  const reply = await replies.next(request);
  if (reply.fault?.kind === 'status') return sendPlain(ctx.res, statusFaultAnswer(reply.fault));
  const pcm = renderPcm16(reply.audio, request.input, OPENAI_TTS_RATE);
  const chunks = chunkAudio(pcm, (OPENAI_TTS_RATE * 2) / 1000, reply.chunkMs ?? 100);
  if (format === 'wav') {
    // Header first, then the samples, so a client can start playing after the first chunk.
    chunks.unshift(wavHeader(pcm.length, OPENAI_TTS_RATE));
  }
  ctx.res.writeHead(200, { 'content-type': CONTENT_TYPES[format]!, 'transfer-encoding': 'chunked', 'x-request-id': fakeId('req') });
  return streamChunks(ctx.res, chunks, ctx.signal, reply.pace, reply.fault);
}
