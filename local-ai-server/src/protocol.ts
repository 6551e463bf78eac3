// Wire protocol of the local AI server (version 1), described for people in PROTOCOL.md and for machines in
// protocol.schema.json. Types only (and the audio frame layout): the client imports this, the server's
// validation against the schema lives in protocol-schema.ts.

export const PROTOCOL_VERSION = 1;

export type AudioEncoding = 'mulaw' | 'slin16le';
export type Grammar = null | { builtin: 'digits' | 'digit' | 'yesno' } | { phrases: string[] };

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  name?: string;
}

export interface ToolSpec {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export type ClientMessage =
  | { type: 'stt.start'; id: number; encoding: AudioEncoding; sampleRate: 8000 | 16000; grammar?: Grammar; partials?: boolean }
  | { type: 'stt.grammar'; id: number; grammar: Grammar }
  | { type: 'stt.end'; id: number }
  | { type: 'tts.start'; id: number; encoding: AudioEncoding; sampleRate: number; voice?: string; text?: string; end?: boolean }
  | { type: 'tts.text'; id: number; text: string }
  | { type: 'tts.end'; id: number }
  | { type: 'tts.cancel'; id: number }
  | { type: 'chat'; id: number; messages: ChatMessage[]; tools?: ToolSpec[] }
  | { type: 'chat.cancel'; id: number }
  | { type: 'ping' };

/** Hint a responder may attach to a finished reply: how the caller's next answer should be recognised. */
export interface Expectation {
  grammar: Grammar;
}

export interface Capabilities {
  stt: string[];
  tts: string[];
  voices: string[];
  llm: string;
}

export type ServerMessage =
  | { type: 'hello'; protocol: number; capabilities: Capabilities }
  | { type: 'stt.ready'; id: number }
  | { type: 'stt.speech_start'; id: number }
  | { type: 'stt.partial'; id: number; text: string }
  | { type: 'stt.final'; id: number; text: string; grammar: boolean }
  | { type: 'stt.closed'; id: number }
  | { type: 'tts.sentence'; id: number; text: string; samples: number }
  | { type: 'tts.done'; id: number }
  | { type: 'chat.delta'; id: number; text: string }
  | { type: 'chat.tool_call'; id: number; name: string; arguments: Record<string, unknown> }
  | { type: 'chat.done'; id: number; reason: 'stop' | 'tool_call' | 'cancelled'; expect?: Expectation }
  | { type: 'pong' }
  | { type: 'error'; id?: number; code: ErrorCode; message: string };

export type ErrorCode =
  | 'bad_json'
  | 'invalid_message'
  | 'unknown_stream'
  | 'stream_in_use'
  | 'too_many_streams'
  | 'busy'
  | 'bad_audio'
  | 'engine_unavailable'
  | 'engine_error';

/** Binary audio frame: one byte stream id, then audio bytes. */
export function audioFrame(id: number, audio: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(audio.byteLength + 1);
  frame[0] = id;
  frame.set(audio, 1);
  return frame;
}
