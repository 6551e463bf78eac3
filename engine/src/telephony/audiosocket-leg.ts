import { randomUUID } from 'node:crypto';
import type { Client } from 'ari-client';
import type { WireFormat } from '../audio/codec.ts';
import type { AudioSocketServer } from '../transport/audiosocket/audiosocket-server.ts';
import { hangupQuietly, mediaLeg, type MediaLeg, type MediaLegFactory, type MediaLegRequest } from './media-leg.ts';

/**
 * ExternalMedia with `encapsulation=audiosocket`: Asterisk opens TCP to our listener and sends the UUID frame
 * inside the HTTP request, before the 200 reply, so the expectation is registered first. Only slin formats
 * (Asterisk mislabels µ-law/A-law audio as 0x10 slin frames).
 */
export class AudioSocketLegFactory implements MediaLegFactory {
  readonly transport = 'audiosocket' as const;

  get codec(): string {
    return this.format;
  }

  constructor(
    private readonly server: AudioSocketServer,
    private readonly format: WireFormat,
    private readonly advertiseHost: string,
  ) {}

  async create(request: MediaLegRequest, ari: Client): Promise<MediaLeg> {
    const uuid = randomUUID();
    const { channelId } = request;
    const connected = this.server.expect(uuid, this.format);
    connected.catch(() => undefined);
    const host = this.advertiseHost.includes(':') ? `[${this.advertiseHost}]` : this.advertiseHost;
    try {
      await ari.channels.externalMedia({
        channelId,
        app: request.app,
        external_host: `${host}:${this.server.port}`,
        format: this.format,
        encapsulation: 'audiosocket',
        transport: 'tcp',
        data: uuid,
      } as Parameters<Client['channels']['externalMedia']>[0]);
    } catch (err) {
      await hangupQuietly(ari, channelId);
      throw err;
    }
    const stream = await connected;
    return mediaLeg(stream, channelId, this.format);
  }
}
