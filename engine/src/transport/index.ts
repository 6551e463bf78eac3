export type { IdlePolicy } from './paced-media-stream.ts';
export { RtpMediaServer, type RtpServerOptions, type RtpServerCounters } from './rtp/rtp-server.ts';
export { RtpMediaStream, type RtpFormat } from './rtp/rtp-stream.ts';
export { AudioSocketServer, type AudioSocketServerOptions, type AudioSocketServerCounters } from './audiosocket/audiosocket-server.ts';
export { AudioSocketStream, checkAudioSocketFormat } from './audiosocket/audiosocket-stream.ts';
export {
  connectMediaWebSocket,
  MediaWsServer,
  MediaProtocolError,
  MEDIA_SUBPROTOCOL,
  type MediaWsClientOptions,
  type MediaWsServerOptions,
  type MediaWsServerCounters,
} from './websocket/ws-media-endpoint.ts';
export { WsMediaStream, type MediaStartInfo } from './websocket/ws-media-stream.ts';
export { createMediaTransports, type MediaConfig, type MediaTransports } from './create-media-transports.ts';
