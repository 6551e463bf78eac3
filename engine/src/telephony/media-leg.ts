import type { Client } from 'ari-client';
import type { MediaStream, TransportKind } from '../call/index.ts';
import { settledWithin } from './ari-bounded.ts';

/** The media half of a call: a MediaStream plus, when ARI created one, the ExternalMedia channel carrying it. */
export interface MediaLeg {
  readonly stream: MediaStream;
  /** ARI id of the ExternalMedia/WebSocket channel to bridge with the caller. */
  readonly channelId: string;
  readonly codec: string;
  /** Closes the stream and hangs up the media channel. Idempotent. */
  close(ari: Client | null): Promise<void>;
}

export interface MediaLegRequest {
  callId: string;
  app: string;
  /** Id for the media channel, chosen before the request so its StasisStart is recognised as ours. */
  channelId: string;
}

/** Creates the media leg of one transport kind through ARI (ExternalMedia / chan_websocket). */
export interface MediaLegFactory {
  readonly transport: TransportKind;
  /** Wire format of the legs it creates (recorded with the call). */
  readonly codec: string;
  create(request: MediaLegRequest, ari: Client): Promise<MediaLeg>;
}

/**
 * Hangs up a media channel, ignoring "already gone" (404): the caller's hangup often takes it down first. Bounded:
 * an Asterisk that stopped answering does not hold the call's teardown.
 */
export async function hangupQuietly(ari: Client | null, channelId: string): Promise<void> {
  if (ari) await settledWithin(ari.channels.hangup({ channelId }));
}

/** A leg over `stream` and its ARI media channel; closing ends the stream and hangs the channel up, once. */
export function mediaLeg(stream: MediaStream, channelId: string, codec: string): MediaLeg {
  let closed = false;
  return {
    stream,
    channelId,
    codec,
    async close(client) {
      if (closed) return;
      closed = true;
      stream.close('call ended');
      await hangupQuietly(client, channelId);
    },
  };
}
