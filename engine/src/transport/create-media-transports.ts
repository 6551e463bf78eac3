import { resolveBindHost, type EngineConfig, type Logger } from '@ai-agent/common';
import { sharedPacer, type Pacer } from '../audio/pacer.ts';
import { AudioSocketServer } from './audiosocket/audiosocket-server.ts';
import { RtpMediaServer } from './rtp/rtp-server.ts';
import { MediaWsServer } from './websocket/ws-media-endpoint.ts';

/** The parsed `media:` config section. */
export type MediaConfig = EngineConfig['media'];

export interface MediaTransports {
  rtp: RtpMediaServer;
  audiosocket: AudioSocketServer;
  /** Only when Asterisk is to connect to the engine (chan_websocket client mode); otherwise nothing listens. */
  websocket: MediaWsServer | null;
  pacer: Pacer;
  close(): Promise<void>;
}

/**
 * Builds the media listeners from the `media:` config section. Every bind address comes from the bind policy
 * (loopback unless the listener's env var opts in). The media WebSocket listener exists only with
 * `websocketListener` (chan_websocket client mode): a port nothing consumes calls from is not opened.
 */
export async function createMediaTransports(
  config: MediaConfig,
  log: Logger,
  { websocketListener }: { websocketListener: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<MediaTransports> {
  const pacer = sharedPacer();
  const streamDefaults = {
    resamplerQuality: config.resampler_quality,
    jitterMinDelayMs: config.jitter.min_delay_ms,
    jitterMaxDelayMs: config.jitter.max_delay_ms,
    maxQueueSeconds: config.max_queue_seconds,
  };
  const rtp = new RtpMediaServer({
    log,
    pacer,
    host: resolveBindHost('rtp', env, log),
    portMin: config.rtp.port_min,
    portMax: config.rtp.port_max,
    advertiseHost: config.rtp.advertise_host,
    idlePolicy: config.rtp.idle,
    stream: {
      ...streamDefaults,
      slin16Reply: config.rtp.slin16_reply,
      slin16PayloadType: config.rtp.slin16_payload_type,
      dtmfPayloadType: config.rtp.dtmf_payload_type,
      maxPacketsPerTick: config.rtp.max_packets_per_tick,
    },
  });
  const audiosocket = new AudioSocketServer({
    log,
    pacer,
    host: resolveBindHost('audiosocket', env, log),
    port: config.audiosocket.port,
    defaultFormat: config.audiosocket.format,
    uuidTimeoutMs: config.audiosocket.uuid_timeout_ms,
    maxConnections: config.audiosocket.max_connections,
    stream: streamDefaults,
  });
  const websocket = websocketListener ? new MediaWsServer({
    log,
    pacer,
    host: resolveBindHost('media_ws', env, log),
    port: config.websocket.port,
    mediaStartTimeoutMs: config.websocket.media_start_timeout_ms,
    maxConnections: config.websocket.max_connections,
    ...streamDefaults,
  }) : null;
  await audiosocket.listen();
  await websocket?.listen();
  return {
    rtp,
    audiosocket,
    websocket,
    pacer,
    async close() {
      rtp.close();
      await audiosocket.close();
      await websocket?.close();
    },
  };
}
