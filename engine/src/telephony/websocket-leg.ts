import type { Client } from 'ari-client';
import type { Logger } from '@ai-agent/common';
import type { Pacer } from '../audio/pacer.ts';
import { connectMediaWebSocket, type MediaWsServer } from '../transport/websocket/ws-media-endpoint.ts';
import { hangupQuietly, mediaLeg, type MediaLeg, type MediaLegFactory, type MediaLegRequest } from './media-leg.ts';

export interface WebSocketLegOptions {
  /** ARI base URL; the media WebSocket is served by the same Asterisk HTTP server at /media/<id>. */
  ariUrl: string;
  format: 'ulaw' | 'alaw' | 'slin16';
  /**
   * Client mode: Asterisk connects out to `listener` using its websocket_client.conf entry `clientName`.
   * Absent: server mode.
   */
  client?: { listener: MediaWsServer; clientName: string };
  log: Logger;
  pacer: Pacer;
  stream: { resamplerQuality?: number; maxQueueSeconds?: number };
}

/**
 * chan_websocket. Server mode: ExternalMedia `transport=websocket, connection_type=server` creates a channel
 * that waits for us; we connect to `/media/<MEDIA_WEBSOCKET_CONNECTION_ID>` with subprotocol `media` (Asterisk
 * needs no extra configuration). Client mode: `connection_type=client, external_host=<websocket_client.conf
 * entry>` makes Asterisk connect to our listener, whose MEDIA_START names the channel id we chose. Either way
 * Asterisk's own playback queue can be flushed on barge-in.
 */
export class WebSocketLegFactory implements MediaLegFactory {
  readonly transport = 'websocket' as const;

  get codec(): string {
    return this.options.format;
  }

  constructor(private readonly options: WebSocketLegOptions) {}

  async create(request: MediaLegRequest, ari: Client): Promise<MediaLeg> {
    return this.options.client ? this.createAsClient(request, ari, this.options.client) : this.createAsServer(request, ari);
  }

  private async createAsClient(request: MediaLegRequest, ari: Client, client: { listener: MediaWsServer; clientName: string }): Promise<MediaLeg> {
    const { channelId } = request;
    // Expected before the request: Asterisk may connect before it answers.
    const connected = client.listener.expect(channelId);
    connected.catch(() => undefined);
    try {
      await ari.channels.externalMedia({
        channelId,
        app: request.app,
        external_host: client.clientName,
        format: this.options.format,
        encapsulation: 'none',
        transport: 'websocket',
        connection_type: 'client',
        direction: 'both',
      } as Parameters<Client['channels']['externalMedia']>[0]);
      return mediaLeg(await connected, channelId, this.options.format);
    } catch (err) {
      await hangupQuietly(ari, channelId);
      throw err;
    }
  }

  private async createAsServer(request: MediaLegRequest, ari: Client): Promise<MediaLeg> {
    const { channelId } = request;
    const channel = (await ari.channels.externalMedia({
      channelId,
      app: request.app,
      format: this.options.format,
      encapsulation: 'none',
      transport: 'websocket',
      connection_type: 'server',
      direction: 'both',
    } as Parameters<Client['channels']['externalMedia']>[0])) as unknown as { channelvars?: Record<string, string> };
    const connectionId = channel.channelvars?.MEDIA_WEBSOCKET_CONNECTION_ID;
    if (!connectionId) {
      await hangupQuietly(ari, channelId);
      throw new Error('Asterisk did not return MEDIA_WEBSOCKET_CONNECTION_ID (is chan_websocket loaded?)');
    }
    const base = new URL(this.options.ariUrl);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = `${base.pathname.replace(/\/$/, '')}/media/${encodeURIComponent(connectionId)}`;
    let stream;
    try {
      stream = await connectMediaWebSocket({
        url: base.toString(),
        log: this.options.log.child({ callId: request.callId }),
        pacer: this.options.pacer,
        ...this.options.stream,
      });
    } catch (err) {
      await hangupQuietly(ari, channelId);
      throw err;
    }
    return mediaLeg(stream, channelId, this.options.format);
  }
}
