// `@ai-agent/local-ai-server/client`: what a program needs to talk to the server (the engine's providers), and
// nothing of the server itself: no engine, no schema compiled, no file read at import.
export {
  LocalAiClient,
  LocalAiError,
  SttStream,
  type ChatEvent,
  type ConnectOptions,
  type SttStreamOptions,
  type SynthesisOptions,
} from './client.ts';
export type {
  AudioEncoding,
  Capabilities,
  ChatMessage,
  ClientMessage,
  ErrorCode,
  Expectation,
  Grammar,
  ServerMessage,
  ToolSpec,
} from './protocol.ts';
export { PROTOCOL_VERSION, audioFrame } from './protocol.ts';
