// Audio both services convert with (`@ai-agent/common/audio`): G.711 and the Speex resampler. Kept out of the
// main entry because loading it compiles the resampler's WASM.
export {
  ALAW_SILENCE,
  ULAW_SILENCE,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  mulawDecode,
  mulawEncode,
} from './g711.ts';
export { DEFAULT_RESAMPLER_QUALITY, Resampler, type ResamplerOptions, type SampleSink } from './resampler.ts';
