// Public surface of the local AI server package: the client the engine's providers use, the protocol types,
// and the pieces the tests and benchmark reuse (evaluation set, WER).
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
  Expectation,
  Grammar,
  ToolSpec,
} from './protocol.ts';
export { PROTOCOL_VERSION } from './protocol.ts';
export { loadPrompts, evaluationSet, type Prompt } from './eval/prompts.ts';
export { corpusWer, normalizeWords, type WerResult } from './eval/wer.ts';
export { mulawEncode, mulawDecode } from './audio/mulaw.ts';
export { parseWav, buildWav, type PcmAudio } from './audio/wav.ts';
export { Resampler, initResampler } from './audio/resampler.ts';
