import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

const rtpSchema = z
  .object({
    /** One UDP port per call from this range (the port identifies the call). 0/0: OS-chosen (tests). */
    port_min: port.default(18080),
    port_max: port.default(18479),
    /** Address Asterisk sends to (`external_host`); default: the bind address (EXTERNAL_MEDIA_RTP_HOST). */
    advertise_host: z.string().min(1).optional(),
    /** On ticks with nothing to play: 'silence' keeps RTP flowing (default), 'none' sends nothing. */
    idle: z.enum(['silence', 'none']).default('silence'),
    /** Replies on slin16 channels: Asterisk drops dynamic-PT (118) replies, so µ-law PT 0 is the default. */
    slin16_reply: z.enum(['ulaw', 'slin16']).default('ulaw'),
    slin16_payload_type: z.number().int().min(96).max(127).default(118),
    dtmf_payload_type: z.number().int().min(96).max(127).default(101),
    /**
     * Flood guard: packets per 20 ms a call's source may send sustained (Asterisk sends 1). A burst above it, as
     * a stalled Asterisk releases its backlog, passes while it fits in the jitter buffer (64 packets); only a
     * sustained excess is dropped.
     */
    max_packets_per_tick: z.number().int().min(2).max(100).default(2),
  })
  .strict()
  .refine((r) => r.port_min <= r.port_max, { message: 'port_min must not exceed port_max', path: ['port_min'] });

const audiosocketSchema = z
  .object({
    port: port.default(8090),
    /** slin (8 kHz) or slin16; ulaw/alaw are refused (Asterisk mislabels them on AudioSocket). */
    format: z.enum(['slin', 'slin16', 'slin24', 'slin48']).default('slin'),
    uuid_timeout_ms: z.number().int().min(100).max(60_000).default(5000),
    max_connections: z.number().int().min(1).default(2000),
  })
  .strict();

const websocketSchema = z
  .object({
    /** Listener Asterisk connects to in chan_websocket client mode (MEDIA_WS_HOST). */
    port: port.default(8091),
    media_start_timeout_ms: z.number().int().min(100).max(60_000).default(5000),
    max_connections: z.number().int().min(1).default(2000),
  })
  .strict();

const jitterSchema = z
  .object({
    /** Floor of the playout delay; the adaptive target is 3 × RFC 3550 jitter above it. */
    min_delay_ms: z.number().min(0).max(200).default(5),
    max_delay_ms: z.number().min(20).max(1000).default(300),
  })
  .strict();

// prefault: an omitted section is parsed from {} so every default above applies (zod 4's default skips parsing).
export const mediaConfigSchema = z
  .object({
    rtp: rtpSchema.prefault({}),
    audiosocket: audiosocketSchema.prefault({}),
    websocket: websocketSchema.prefault({}),
    jitter: jitterSchema.prefault({}),
    /** Speex resampler quality 0–10 (6: ≥ 90 dB alias rejection measured at 8↔16 kHz). */
    resampler_quality: z.number().int().min(0).max(10).default(6),
    /** Playback queue limit per call, seconds of audio. */
    max_queue_seconds: z.number().min(1).max(3600).default(300),
  })
  .strict()
  .prefault({});

export type MediaConfig = z.infer<typeof mediaConfigSchema>;
