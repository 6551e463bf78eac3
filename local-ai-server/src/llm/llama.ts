// A real local model: node-llama-cpp with a user-supplied GGUF (LLM_MODEL_PATH). node-llama-cpp is an
// optional package, imported only when a model is configured; its prebuilt CPU binary is used (no build).
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { LocalAiConfig } from '../config.ts';
import { EngineSetupError, importOptional } from '../optional.ts';
import type { ChatMessage, ToolSpec } from '../protocol.ts';
import { AsyncQueue } from '@ai-agent/common/async-queue';
import type { Responder, ResponderEvent } from './types.ts';

type LlmConfig = LocalAiConfig['llm'];

/** Fails fast, before loading anything, when the path is not a readable GGUF file. */
export function checkModelFile(path: string | undefined): string {
  const key = 'llm.model_path (LLM_MODEL_PATH)';
  if (!path) throw new EngineSetupError(`${key} is not set`);
  if (!existsSync(path) || !statSync(path).isFile()) throw new EngineSetupError(`${key}: model file not found: ${path}`);
  const magic = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.toString('latin1') !== 'GGUF') throw new EngineSetupError(`${key}: ${path} is not a GGUF model file`);
  return path;
}

// The slice of node-llama-cpp's API this file uses.
interface ChatHistoryItem {
  type: 'system' | 'user' | 'model';
  text?: string;
  response?: string[];
}
interface ChatSession {
  setChatHistory(history: ChatHistoryItem[]): void;
  prompt(
    text: string,
    options: {
      onTextChunk?: (chunk: string) => void;
      functions?: Record<string, unknown>;
      signal?: AbortSignal;
      stopOnAbortSignal?: boolean;
      maxTokens?: number;
    },
  ): Promise<string>;
}
interface LlamaModule {
  getLlama(o: { gpu: false; build: 'never' }): Promise<{
    loadModel(o: { modelPath: string }): Promise<{
      createContext(o: { contextSize: number; threads: number }): Promise<{ getSequence(): unknown; dispose(): Promise<void> }>;
      dispose(): Promise<void>;
    }>;
  }>;
  LlamaChatSession: new (o: { contextSequence: unknown; systemPrompt?: string }) => ChatSession;
  defineChatSessionFunction(o: { description?: string; params?: unknown; handler: (params: unknown) => unknown }): unknown;
}

export class LlamaResponder implements Responder {
  readonly name = 'llama';
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly mod: LlamaModule,
    private readonly session: ChatSession,
    private readonly cfg: LlmConfig,
    private readonly dispose: () => Promise<void>,
  ) {}

  static async create(cfg: LlmConfig): Promise<LlamaResponder> {
    const modelPath = checkModelFile(cfg.model_path);
    const mod = await importOptional<LlamaModule>('node-llama-cpp');
    const llama = await mod.getLlama({ gpu: false, build: 'never' });
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: cfg.context_size, threads: cfg.threads });
    // One sequence, reused across requests: the evaluated system prompt (and any shared history prefix) stays
    // in its KV cache, so each turn only evaluates the new tokens.
    const session = new mod.LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: cfg.system_prompt });
    return new LlamaResponder(mod, session, cfg, async () => {
      await context.dispose();
      await model.dispose();
    });
  }

  respond(messages: ChatMessage[], tools: ToolSpec[] | undefined, signal: AbortSignal): AsyncIterable<ResponderEvent> {
    const events = new AsyncQueue<ResponderEvent>();
    const run = async (): Promise<void> => {
      const lastUser = messages.map((m) => m.role).lastIndexOf('user');
      const system = messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n') || this.cfg.system_prompt;
      const history: ChatHistoryItem[] = [{ type: 'system', text: system }];
      for (const m of messages.slice(0, Math.max(0, lastUser))) {
        if (m.role === 'user') history.push({ type: 'user', text: m.content });
        else if (m.role === 'assistant') history.push({ type: 'model', response: [m.content] });
      }
      this.session.setChatHistory(history);
      let called = false;
      const functions: Record<string, unknown> = {};
      for (const tool of tools ?? []) {
        functions[tool.name] = this.mod.defineChatSessionFunction({
          description: tool.description,
          params: tool.parameters,
          handler: (params) => {
            called = true;
            events.push({ type: 'tool_call', name: tool.name, arguments: (params ?? {}) as Record<string, unknown> });
            return 'done';
          },
        });
      }
      await this.session.prompt(lastUser >= 0 ? messages[lastUser].content : '', {
        onTextChunk: (text) => events.push({ type: 'delta', text }),
        functions: tools?.length ? functions : undefined,
        signal,
        stopOnAbortSignal: true,
        maxTokens: this.cfg.max_tokens,
      });
      events.push({ type: 'done', reason: called ? 'tool_call' : 'stop' });
    };
    // One sequence means one generation at a time; later requests wait their turn.
    const done = this.queue.then(run);
    this.queue = done.catch(() => undefined);
    done.then(
      () => events.end(),
      (err: unknown) => events.end(err),
    );
    return events;
  }

  async close(): Promise<void> {
    await this.dispose();
  }
}
