export { startAsteriskPeer, type AsteriskPeer, type AsteriskPeerOptions, type PlaceCallOptions, type PlacedCall } from './peer.ts';
export { placeAudioSocketCall, type AudioSocketCallOptions } from './calls/audiosocket-call.ts';
export { placeWebSocketMediaCall, type WebSocketCallOptions } from './calls/websocket-call.ts';
export type { DirectCall } from './calls/direct-call.ts';
export {
  say, pause, dtmf, waitForAgent, waitForAgentSilence, bargeIn, hangup, type ScriptStep,
} from './caller/script.ts';
export { CallerSession, type CallReport, type TurnTiming, type BargeInTiming, type TranscriptEntry, type CallEnd } from './caller/session.ts';
export { STOP_SILENCE_MS, GAP_MIN_MS, SPURT_BREAK_MS } from './caller/analysis.ts';
export { AUDIO_RMS_THRESHOLD, IDLE_RMS, rms, isAudible, voicedFrames } from './audio/level.ts';
export { loadAudio, soundPath, soundsDir, synthesise, type AudioRef, type CallerVoice } from './audio/sources.ts';
export { MULTI_PART_ANSWERS, multiPartAnswer, multiPartAudio, type MultiPartAnswer } from './audio/multi-part-answers.ts';
export { readWav, writeWav, type WavData } from './audio/wav.ts';
export { ulawEncode, ulawDecode, alawEncode, alawDecode } from './audio/g711.ts';
export { WireCodec, frameBytes, type MediaFormat } from './audio/formats.ts';
export { MediaClock, sharedClock } from './clock.ts';
export { Prng } from './prng.ts';
export { Impairer, type ImpairmentOptions, type ImpairmentStats, type JitterDistribution, type BurstLoss } from './impairment.ts';
export type { LegImpairments, RtpLegStats } from './rtp/rtp-leg.ts';
export { parseRtp, ulawRtpPacket, writeRtpHeader, type RtpHeader } from './rtp/packet.ts';
export { encodeFrame, FrameParser, uuidToBytes, bytesToUuid } from './audiosocket/frames.ts';
export { AudioSocketLeg } from './audiosocket/audiosocket-leg.ts';
export { WsMediaLeg } from './websocket/ws-media-leg.ts';
export * from './fakes/index.ts';
