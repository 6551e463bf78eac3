/** The conversation pipeline's audio format: 16 kHz mono PCM16 in 20 ms frames. */
export const PIPELINE_SAMPLE_RATE = 16000;
export const FRAME_MS = 20;
export const PIPELINE_FRAME_SAMPLES = (PIPELINE_SAMPLE_RATE * FRAME_MS) / 1000;
/** The pipeline PCM handed to a consumer that reads only the wire's own audio: empty, never written. */
export const NO_PCM = new Int16Array(0);
