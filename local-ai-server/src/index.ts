// Public surface of the local AI server package: the client and protocol types (also alone, without the
// server, as `@ai-agent/local-ai-server/client`) and the pieces the tests and benchmark reuse (evaluation
// set, WER, WAV files).
export * from './client-entry.ts';
export { loadPrompts, evaluationSet, type Prompt } from './eval/prompts.ts';
export { corpusWer, normalizeWords, type WerResult } from './eval/wer.ts';
export { parseWav, buildWav, type PcmAudio } from './audio/wav.ts';
