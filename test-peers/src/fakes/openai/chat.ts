// POST /v1/chat/completions: streaming (SSE `chat.completion.chunk`s, `[DONE]`) and plain answers.
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import { sendPlain, type RouteContext } from '../fake-server.ts';
import { answerOnce, streamChunks } from '../http-stream.ts';
import { fakeId, type Fault, type Pace, type ScriptQueue } from '../script.ts';
import { badRequest, statusFaultAnswer } from './errors.ts';

export interface ScriptedToolCall {
  id?: string;
  name: string;
  /** Object arguments are JSON-encoded. Streamed in fragments of `argumentFragmentChars`. */
  arguments: string | Record<string, unknown>;
}

export interface ChatReply {
  /** A string is split into word-sized deltas; an array gives the exact deltas. */
  text?: string | string[];
  toolCalls?: ScriptedToolCall[];
  /** Defaults to `tool_calls` when tool calls are present, else `stop`. */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Size of each streamed `function.arguments` fragment (default 8). */
  argumentFragmentChars?: number;
  pace?: Pace;
  /** A stall/drop counts chunks after the first (role) chunk. */
  fault?: Fault;
}

export type ChatRequest = ChatCompletionCreateParams;

/** Splits text the way token streams look: each delta is optional leading spaces plus a word. */
export function wordDeltas(text: string): string[] {
  return text.match(/\s*\S+\s*$|\s*\S+/g) ?? (text ? [text] : []);
}

function fragments(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
}

function lastUserText(request: ChatRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!;
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    return (m.content ?? []).map((p) => ('text' in p ? p.text : '')).join('');
  }
  return '';
}

/** Default answer: echo the caller, so a demo conversation is visibly wired end to end. */
export function defaultChatReply(request: ChatRequest): ChatReply {
  return { text: `You said: ${lastUserText(request)}` };
}

interface ResolvedToolCall {
  id: string;
  name: string;
  arguments: string;
}

function resolveToolCalls(reply: ChatReply): ResolvedToolCall[] {
  return (reply.toolCalls ?? []).map((t) => ({
    id: t.id ?? fakeId('call'),
    name: t.name,
    arguments: typeof t.arguments === 'string' ? t.arguments : JSON.stringify(t.arguments),
  }));
}

function textDeltas(reply: ChatReply): string[] {
  if (reply.text === undefined) return [];
  return Array.isArray(reply.text) ? reply.text : wordDeltas(reply.text);
}

function usageFor(request: ChatRequest, completionText: string): ChatCompletion['usage'] {
  const prompt = Math.ceil(JSON.stringify(request.messages).length / 4);
  const completion = Math.ceil(completionText.length / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function streamBody(request: ChatRequest, reply: ChatReply): string[] {
  const id = fakeId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = request.stream_options?.include_usage === true;
  const toolCalls = resolveToolCalls(reply);
  const texts = textDeltas(reply);
  const base = { id, object: 'chat.completion.chunk' as const, created, model: request.model, system_fingerprint: 'fp_fake', service_tier: 'default' as const };
  const chunk = (delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks: ChatCompletionChunk[] = [chunk({ role: 'assistant', content: texts.length > 0 ? '' : null, refusal: null })];
  for (const t of texts) chunks.push(chunk({ content: t }));
  const size = reply.argumentFragmentChars ?? 8;
  toolCalls.forEach((call, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const part of fragments(call.arguments, size)) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: part } }] }));
  });
  chunks.push(chunk({}, reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop')));
  if (includeUsage) chunks.push({ ...base, choices: [], usage: usageFor(request, texts.join('')) });
  return [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n'];
}

function completionBody(request: ChatRequest, reply: ChatReply): ChatCompletion {
  const toolCalls: ChatCompletionMessageToolCall[] = resolveToolCalls(reply).map((c) => ({
    id: c.id,
    type: 'function',
    function: { name: c.name, arguments: c.arguments },
  }));
  const text = reply.text === undefined ? null : Array.isArray(reply.text) ? reply.text.join('') : reply.text;
  return {
    id: fakeId('chatcmpl'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: request.model,
    system_fingerprint: 'fp_fake',
    service_tier: 'default',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      },
    ],
    usage: usageFor(request, text ?? ''),
  };
}

export async function handleChat(ctx: RouteContext, body: unknown, replies: ScriptQueue<ChatReply, ChatRequest>): Promise<void> {
  const request = body as ChatRequest | undefined;
  if (!request || typeof request !== 'object' || typeof request.model !== 'string') {
    return sendPlain(ctx.res, badRequest('you must provide a model parameter', 'model'));
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    return sendPlain(ctx.res, badRequest("Invalid 'messages': empty array. Expected an array with minimum length 1.", 'messages'));
  }
  const reply = await replies.next(request);
  if (reply.fault?.kind === 'status') return sendPlain(ctx.res, statusFaultAnswer(reply.fault));
  const streamFault = reply.fault;
  const requestId = { 'x-request-id': fakeId('req') };

  if (request.stream) {
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...requestId });
    const body = streamBody(request, reply);
    // The role chunk always goes out first, so `afterChunks` counts content/tool chunks like a test reads them.
    const fault = streamFault ? { ...streamFault, afterChunks: (streamFault.afterChunks ?? 0) + 1 } : undefined;
    return streamChunks(ctx.res, body, ctx.signal, reply.pace, fault);
  }
  const json = JSON.stringify(completionBody(request, reply));
  return answerOnce(ctx.res, 200, { 'content-type': 'application/json', ...requestId }, json, ctx.signal, reply.pace, streamFault);
}
