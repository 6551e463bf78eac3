import type OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { warmConnection } from '../shared/connection-warmer.ts';
import { RequestWatch } from '../shared/request-watch.ts';
import type { ChatMessage, LlmCapabilities, LlmEvent, LlmProvider, LlmUsage, ToolCall, ToolSchema } from '../types.ts';
import { openAiFailure, timeoutsOf, type OpenAiConfig } from './client.ts';

/**
 * Chat Completions, streamed, with tool calls: OpenAI or any server speaking its API (llama.cpp, Ollama, vLLM)
 * at `base_url`. The request starts with the same bytes every turn (system prompt, then tools in a fixed order),
 * so vendors that cache prompt prefixes reuse them. Aborting the signal cancels the HTTP stream.
 */
export class OpenAiLlm implements LlmProvider {
  readonly capabilities: LlmCapabilities = { streaming: true, toolCalls: true };

  constructor(readonly name: string, private readonly client: OpenAI, private readonly config: OpenAiConfig) {}

  warm(): void {
    warmConnection(this.config.base_url, this.config.connect_timeout_ms);
  }

  async *chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal, usage?: (u: LlmUsage) => void): AsyncIterable<LlmEvent> {
    const { llm } = this.config;
    const watch = new RequestWatch(this.name, signal, timeoutsOf(this.config));
    try {
      const stream = await this.client.chat.completions.create(
        {
          model: llm.model,
          messages: messages.map(toOpenAi),
          ...(tools.length > 0 ? { tools: tools.map(toTool) } : {}),
          ...(llm.temperature !== undefined ? { temperature: llm.temperature } : {}),
          max_completion_tokens: llm.max_tokens,
          stream: true,
          ...(llm.usage ? { stream_options: { include_usage: true } } : {}),
        },
        { signal: watch.signal },
      );
      watch.started();
      // Tool calls arrive as fragments keyed by index; each is whole once the choice finishes.
      const calls = new Map<number, ToolCall>();
      for await (const chunk of stream) {
        watch.tick();
        if (chunk.usage) {
          const u = chunk.usage;
          usage?.({ promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens, cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0 });
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        if (choice.delta.content) yield { type: 'text', text: choice.delta.content };
        for (const part of choice.delta.tool_calls ?? []) {
          const call = calls.get(part.index) ?? { id: '', name: '', arguments: '' };
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.arguments += part.function.arguments;
          calls.set(part.index, call);
        }
      }
      // The SDK ends the iteration quietly when its signal aborts: a timeout must still fail the reply.
      const timeout = watch.timeoutError();
      if (timeout) throw timeout;
      if (watch.cancelled) return;
      for (const [index, call] of [...calls].sort((a, b) => a[0] - b[0])) {
        // Some compatible servers omit ids; the history needs one to pair the result.
        yield { type: 'tool_call', call: { ...call, id: call.id || `call_${index}` } };
      }
    } catch (err) {
      const failure = openAiFailure(this.name, err, watch);
      if (failure) throw failure;
    } finally {
      watch.done();
    }
  }
}

function toOpenAi(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
    case 'assistant':
      return m.toolCalls?.length
        ? {
            role: 'assistant',
            content: m.content || null,
            tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })),
          }
        : { role: 'assistant', content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}

function toTool(t: ToolSchema): ChatCompletionTool {
  return { type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } };
}
