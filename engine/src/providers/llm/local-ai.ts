import type { ChatMessage as LocalMessage } from '@ai-agent/local-ai-server/client';
import type { LocalAiPool } from '../local-ai/connection-pool.ts';
import type { ChatMessage, LlmEvent, LlmProvider, ToolSchema } from '../types.ts';

/** The local AI server's responder (rule dialogue, or a local GGUF model) as an LLM. */
export class LocalAiLlm implements LlmProvider {
  private callSeq = 0;
  constructor(readonly name: string, private readonly pool: LocalAiPool) {}

  async *chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal): AsyncIterable<LlmEvent> {
    const localMessages = messages.map(toLocal);
    const localTools = tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
    const { items, release } = await this.pool.stream(signal, (client) => client.chat(localMessages, localTools, signal));
    try {
      for await (const event of items) {
        if (event.type === 'delta') yield { type: 'text', text: event.text };
        else if (event.type === 'tool_call') {
          // The protocol has no call ids; the engine's history needs one to pair the result.
          yield { type: 'tool_call', call: { id: `local-${++this.callSeq}`, name: event.name, arguments: JSON.stringify(event.arguments) } };
        } else if (event.expect) {
          yield { type: 'expect', grammar: event.expect.grammar };
        }
      }
    } finally {
      release();
    }
  }
}

function toLocal(m: ChatMessage): LocalMessage {
  if (m.role === 'tool') return { role: 'tool', content: m.content, name: m.name };
  return { role: m.role, content: m.content };
}
