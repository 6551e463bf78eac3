import { WebSocket } from 'ws';
import type { MediaFormat } from '../audio/formats.ts';
import { nextUniqueId, pointerSuffix } from '../asterisk/json.ts';
import { CallerSession } from '../caller/session.ts';
import { WsMediaLeg, type ControlMessageFormat } from '../websocket/ws-media-leg.ts';
import { peerLog, runDirectCall, type DirectCall, type DirectCallOptions } from './direct-call.ts';

export interface WebSocketCallOptions extends DirectCallOptions {
  /** The app's media WebSocket server (websocket_client.conf `uri`). */
  url: string;
  /** The websocket_client.conf connection name, reported as connection_id. Default "media_connection1". */
  connectionName?: string;
  format?: MediaFormat;
  /** f(json) in the dial string. */
  controlFormat?: ControlMessageFormat;
  variables?: Record<string, string>;
}

/**
 * A call through `Dial(WebSocket/<connection>/c(<codec>))` (channels/chan_websocket.c, client mode):
 * Asterisk connects out with subprotocol "media", sends MEDIA_START, then binary frames.
 */
export async function placeWebSocketMediaCall(opts: WebSocketCallOptions): Promise<DirectCall & { leg: WsMediaLeg }> {
  const log = peerLog(opts.log);
  const session = new CallerSession({ script: opts.script, log, transmitSilence: opts.transmitSilence, hangupAtEnd: opts.hangupAtEnd });
  await session.prepare();
  const name = opts.connectionName ?? 'media_connection1';
  const ws = new WebSocket(opts.url, 'media');
  // The leg must listen from the 'open' event itself: the app may send media in the same TCP segment.
  const leg = await new Promise<WsMediaLeg>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () =>
      resolve(
        new WsMediaLeg(ws, {
          connectionId: name,
          channelName: `WebSocket/${name}/${pointerSuffix()}`,
          channelId: nextUniqueId(),
          format: opts.format ?? 'ulaw',
          controlFormat: opts.controlFormat ?? 'plain-text',
          channelVariables: () => opts.variables ?? {},
          log,
        }),
      ),
    );
  });
  leg.onInbound = (audible, at) => session.agentFrame(audible, at);
  leg.onEnd = (why) => session.remoteEnded('engine-hangup', why);
  leg.start();
  return { ...runDirectCall(session, leg), leg };
}
