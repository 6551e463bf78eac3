// The responder contract: what an LLM provider does, whether a real model or the dialogue engine answers.
import type { ChatMessage, Expectation, ToolSpec } from '../protocol.ts';

export type ResponderEvent =
  | { type: 'delta'; text: string }
  | { type: 'tool_call'; name: string; arguments: Record<string, unknown> }
  | { type: 'done'; reason: 'stop' | 'tool_call'; expect?: Expectation };

export interface Responder {
  readonly name: string;
  respond(messages: ChatMessage[], tools: ToolSpec[] | undefined, signal: AbortSignal): AsyncIterable<ResponderEvent>;
  close(): Promise<void>;
}
