import type { Client } from 'ari-client';
import type { RtpMediaServer } from '../transport/rtp/rtp-server.ts';
import type { RtpFormat } from '../transport/rtp/rtp-stream.ts';
import { mediaLeg, type MediaLeg, type MediaLegFactory, type MediaLegRequest } from './media-leg.ts';

/**
 * ExternalMedia over RTP: a UDP port per call from the server's range, handed to Asterisk as `external_host`.
 * Asterisk sends from UNICASTRTP_LOCAL_PORT; the stream latches that source from the first valid packet.
 */
export class RtpLegFactory implements MediaLegFactory {
  readonly transport = 'rtp' as const;

  get codec(): string {
    return this.format;
  }

  constructor(private readonly server: RtpMediaServer, private readonly format: RtpFormat) {}

  async create(request: MediaLegRequest, ari: Client): Promise<MediaLeg> {
    const stream = await this.server.allocate(request.callId, this.format);
    const { channelId } = request;
    try {
      const channel = (await ari.channels.externalMedia({
        channelId,
        app: request.app,
        external_host: this.server.externalHost(stream),
        format: this.format,
        encapsulation: 'rtp',
        transport: 'udp',
        direction: 'both',
      })) as unknown as { channelvars?: Record<string, string> };
      // Asterisk sends nothing while the caller is silent, so the greeting cannot wait for a packet to latch
      // onto: send to where chan_rtp says it listens. The first valid packet still confirms the source.
      const address = channel.channelvars?.UNICASTRTP_LOCAL_ADDRESS;
      const port = Number(channel.channelvars?.UNICASTRTP_LOCAL_PORT);
      if (address && port > 0) stream.setRemote(address, port);
    } catch (err) {
      stream.close('externalMedia failed');
      throw err;
    }
    return mediaLeg(stream, channelId, this.format);
  }
}
