// Local servers speaking the OpenAI, Deepgram and local AI server wire protocols, for tests that run the real clients.
export { startOpenAiFake, type OpenAiFake, type OpenAiFakeOptions, type RealtimeConnectStep } from './openai/fake.ts';
export type { ChatReply, ChatRequest, ScriptedToolCall } from './openai/chat.ts';
export { OPENAI_TTS_RATE, type SpeechReply, type SpeechRequest } from './openai/speech.ts';
export type { TranscriptionReply, TranscriptionRequest } from './openai/transcription.ts';
export type {
  ErrorEventFault,
  RealtimeReply,
  RealtimeResponseRequest,
  RealtimeSessionHandle,
  RealtimeTranscriptRequest,
} from './openai/realtime.ts';
export type { RecordedRequest } from './fake-server.ts';
export {
  ScriptQueue,
  waitUntil,
  type DropFault,
  type Fault,
  type Pace,
  type Scripted,
  type StallFault,
  type StatusFault,
  type StreamFault,
} from './script.ts';
export {
  changeRate,
  decodeToPcm16,
  encodePcm16,
  parseWav,
  silence,
  tone,
  wav,
  type AudioSource,
  type Encoding,
  type ParsedWav,
} from './audio.ts';
export { startDeepgramFake, type DeepgramEnvironmentUrls, type DeepgramFake, type DeepgramFakeOptions } from './deepgram/fake.ts';
export type { ListenFault, ListenRequest, ListenScript, ListenSessionHandle, ListenUtterance } from './deepgram/listen.ts';
export type { SpeakReply, SpeakRequest } from './deepgram/speak.ts';
export type {
  AgentFunctionCall,
  AgentReply,
  AgentReplyRequest,
  AgentListen,
  AgentScript,
  AgentSessionFault,
  AgentSessionHandle,
  AgentUtterance,
} from './deepgram/agent.ts';
export {
  startLocalAiFake,
  type LocalAiFake,
  type LocalChatReply,
  type LocalStreamRecord,
  type LocalSttScript,
  type LocalTtsReply,
} from './local-ai/fake.ts';
export { startDnsFake, type DnsAnswer, type DnsFake, type DnsQuery, type DnsRecordType } from './dns-server.ts';
export { createLoopbackCertificate, type LoopbackCertificate } from './tls.ts';
