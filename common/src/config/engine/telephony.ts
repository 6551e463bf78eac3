import { z } from 'zod';

/** How calls reach the engine's media listeners, and which codec each transport uses. */
export const telephonyConfigSchema = z
  .object({
    /** Media leg the engine creates for each Stasis call. */
    transport: z.enum(['rtp', 'audiosocket', 'websocket']).default('rtp'),
    /** ExternalMedia RTP format (ulaw/alaw recommended: Asterisk drops slin16 replies, see README). */
    rtp_format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
    /**
     * ExternalMedia AudioSocket format: slin (8 kHz) or slin16; µ-law/A-law are mislabelled by Asterisk. slin
     * by default: a PSTN call is narrowband, and slin16 of it only carries an empty upper band (the offline
     * recogniser detects that and treats it as telephone audio, at ~60 ms more partial latency). Use slin16
     * for wideband (G.722/Opus) phones.
     */
    audiosocket_format: z.enum(['slin', 'slin16']).default('slin'),
    /** Address Asterisk connects to for AudioSocket (default: the AudioSocket bind address). */
    audiosocket_advertise_host: z.string().min(1).optional(),
    /** chan_websocket format (the engine connects to Asterisk's /media/<id>). */
    websocket_format: z.enum(['ulaw', 'alaw', 'slin16']).default('ulaw'),
    /** Calls arriving on the AudioSocket listener from the dialplan's AudioSocket() app (no ARI). */
    dialplan_audiosocket: z
      .object({
        enabled: z.boolean().default(true),
        context: z.string().min(1).default('default'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export type TelephonyConfig = z.infer<typeof telephonyConfigSchema>;
