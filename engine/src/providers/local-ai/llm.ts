import type { ChatMessage as LocalMessage } from '@ai-agent/local-ai-server/client';
import type { LocalAiPool } from './connection-pool.ts';
import type { ChatMessage, LlmCapabilities, LlmEvent, LlmProvider, ToolSchema } from '../types.ts';
import { LOCAL_IDLE_TIMEOUT_MS } from './failure.ts';
import { localRequest } from './request.ts';

/** The local AI server's name for its rule dialogue (`hello.capabilities.llm`). */
const RULE_DIALOGUE = 'dialogue';

/** The local AI server's responder (rule dialogue, or a local GGUF model) as an LLM. */
export class LocalAiLlm implements LlmProvider {
  private callSeq = 0;
  constructor(readonly name: string, private readonly pool: LocalAiPool, private readonly idleTimeoutMs = LOCAL_IDLE_TIMEOUT_MS) {}

  /** The server's responder decides `freeText`: its rule dialogue answers callers, a local model writes anything. */
  get capabilities(): LlmCapabilities {
    const responder = this.pool.capabilities?.llm;
    return { streaming: true, toolCalls: true, freeText: responder !== undefined && responder !== RULE_DIALOGUE };
  }

  async *chat(messages: readonly ChatMessage[], tools: readonly ToolSchema[], signal: AbortSignal): AsyncIterable<LlmEvent> {
    const localMessages = messages.map(toLocal);
    const localTools = tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
    for await (const event of localRequest(this.name, this.pool, signal, this.idleTimeoutMs, (client, sig) => client.chat(localMessages, localTools, sig))) {
      if (event.type === 'delta') yield { type: 'text', text: event.text };
      else if (event.type === 'tool_call') {
        // The protocol has no call ids; the engine's history needs one to pair the result.
        yield { type: 'tool_call', call: { id: `local-${++this.callSeq}`, name: event.name, arguments: JSON.stringify(event.arguments) } };
      } else if (event.expect) {
        yield { type: 'expect', grammar: event.expect.grammar };
      }
    }
  }
}

function toLocal(m: ChatMessage): LocalMessage {
  if (m.role === 'tool') return { role: 'tool', content: m.content, name: m.name };
  return { role: m.role, content: m.content };
}
