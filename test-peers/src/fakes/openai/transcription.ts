// POST /v1/audio/transcriptions: multipart upload; json / text / verbose_json answers, or SSE with
// `transcript.text.delta` / `transcript.text.done` when `stream=true`.
import { bytesPerSample, parseWav } from '../audio.ts';
import { sendPlain, type RouteContext } from '../fake-server.ts';
import { answerOnce, streamChunks } from '../http-stream.ts';
import { fakeId, type Fault, type Pace, type ScriptQueue } from '../script.ts';
import { wordDeltas } from './chat.ts';
import { badRequest, statusFaultAnswer } from './errors.ts';

export interface TranscriptionRequest {
  /** Text fields of the form (model, language, prompt, response_format, stream, …). */
  fields: Record<string, string>;
  file: { filename: string; contentType: string; bytes: Buffer };
}

export interface TranscriptionReply {
  text: string;
  language?: string;
  pace?: Pace;
  fault?: Fault;
}

/** Parses multipart/form-data with the platform's own parser (undici), so no extra dependency. */
export async function parseMultipart(contentType: string, raw: Buffer): Promise<TranscriptionRequest | string> {
  let form: FormData;
  try {
    form = await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
  } catch {
    return 'Could not parse multipart form';
  }
  const fields: Record<string, string> = {};
  let file: TranscriptionRequest['file'] | undefined;
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') fields[name] = value;
    else if (name === 'file') file = { filename: value.name, contentType: value.type, bytes: Buffer.from(await value.arrayBuffer()) };
  }
  if (!file) return "Missing required parameter: 'file'.";
  return { fields, file };
}

/** Duration of an uploaded WAV (0 for other containers, which the fake does not decode). */
function wavSeconds(file: Buffer): number {
  try {
    const wav = parseWav(file);
    return wav.data.length / (wav.rate * wav.channels * bytesPerSample(wav.encoding));
  } catch {
    return 0;
  }
}

function tokenUsage(text: string): { type: 'tokens'; input_tokens: number; output_tokens: number; total_tokens: number } {
  const output = Math.ceil(text.length / 4);
  return { type: 'tokens', input_tokens: 50, output_tokens: output, total_tokens: 50 + output };
}

export async function handleTranscription(
  ctx: RouteContext,
  parsed: TranscriptionRequest | string,
  replies: ScriptQueue<TranscriptionReply, TranscriptionRequest>,
): Promise<void> {
  if (typeof parsed === 'string') return sendPlain(ctx.res, badRequest(parsed, 'file'));
  if (!parsed.fields.model) return sendPlain(ctx.res, badRequest('you must provide a model parameter', 'model'));
  if (parsed.file.bytes.length === 0) return sendPlain(ctx.res, badRequest('Audio file is too short.', 'file'));
  const reply = await replies.next(parsed);
  if (reply.fault?.kind === 'status') return sendPlain(ctx.res, statusFaultAnswer(reply.fault));
  const fault = reply.fault;
  const headers = { 'x-request-id': fakeId('req') };

  if (parsed.fields.stream === 'true') {
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', ...headers });
    const events = [
      ...wordDeltas(reply.text).map((delta) => ({ type: 'transcript.text.delta', delta })),
      { type: 'transcript.text.done', text: reply.text, usage: tokenUsage(reply.text) },
    ].map((e) => `data: ${JSON.stringify(e)}\n\n`);
    return streamChunks(ctx.res, events, ctx.signal, reply.pace, fault);
  }

  const format = parsed.fields.response_format ?? 'json';
  if (format === 'text') {
    return answerOnce(ctx.res, 200, { 'content-type': 'text/plain; charset=utf-8', ...headers }, `${reply.text}\n`, ctx.signal, reply.pace, fault);
  }
  if (format !== 'json' && format !== 'verbose_json') {
    return sendPlain(ctx.res, badRequest(`response_format '${format}' is not supported by this fake; use json, text or verbose_json.`, 'response_format'));
  }
  const body =
    format === 'json'
      ? { text: reply.text, usage: tokenUsage(reply.text) }
      : { task: 'transcribe', language: reply.language ?? parsed.fields.language ?? 'english', duration: wavSeconds(parsed.file.bytes), text: reply.text, segments: [] };
  return answerOnce(ctx.res, 200, { 'content-type': 'application/json', ...headers }, JSON.stringify(body), ctx.signal, reply.pace, fault);
}
