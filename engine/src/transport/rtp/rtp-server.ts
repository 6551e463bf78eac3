import { createSocket, type Socket } from 'node:dgram';
import { resolveBindHost, type Logger } from '@ai-agent/common';
import type { Pacer } from '../../audio/pacer.ts';
import { sharedPacer } from '../../audio/pacer.ts';
import type { IdlePolicy } from '../paced-media-stream.ts';
import { ipLiteralLookup } from './literal-lookup.ts';
import { RtpMediaStream, type RtpBurstCounters, type RtpFormat, type RtpStreamOptions } from './rtp-stream.ts';

export interface RtpServerOptions {
  log: Logger;
  /** Bind address; default from EXTERNAL_MEDIA_RTP_HOST via the bind policy (127.0.0.1). */
  host?: string;
  /** Port range, one port per call. 0/0 lets the OS pick (tests). */
  portMin: number;
  portMax: number;
  /** Address Asterisk should send to (`external_host`); defaults to the bind host. */
  advertiseHost?: string;
  pacer?: Pacer;
  idlePolicy?: IdlePolicy;
  stream?: Partial<Pick<RtpStreamOptions, 'slin16Reply' | 'slin16PayloadType' | 'dtmfPayloadType' | 'maxPacketsPerTick' | 'resamplerQuality' | 'jitterMinDelayMs' | 'jitterMaxDelayMs' | 'maxQueueSeconds'>>;
}

/** Burst counts are summed over every stream the server handed out, finished ones included. */
export interface RtpServerCounters extends RtpBurstCounters {
  allocated: number;
  active: number;
  /** allocate() calls that found no free port in the range. */
  portsExhausted: number;
}

/**
 * Hands out one UDP port per call from a range. A dedicated port identifies the call by the socket the
 * packet lands on, before any byte is parsed: no SSRC guessing, no table lookups that a spoofed packet can
 * poison, and a flood aimed at one call's port is confined to that call's socket. The engine passes
 * `externalHost` (ip:port) to ARI's externalMedia for that call.
 */
export class RtpMediaServer {
  readonly host: string;
  readonly counters: RtpServerCounters = { allocated: 0, active: 0, portsExhausted: 0, bursts: 0, burstPackets: 0 };
  private readonly options: RtpServerOptions;
  private readonly pacer: Pacer;
  private readonly streams = new Set<RtpMediaStream>();
  private cursor: number;

  constructor(options: RtpServerOptions) {
    if (options.portMin > options.portMax) throw new RangeError('rtp port_min is above port_max');
    this.options = options;
    this.host = options.host ?? resolveBindHost('rtp', process.env, options.log);
    this.pacer = options.pacer ?? sharedPacer();
    this.cursor = options.portMin;
  }

  /** Binds a port for `callId` and returns its stream; `stream.port` goes into `external_host`. */
  async allocate(callId: string, format: RtpFormat): Promise<RtpMediaStream> {
    const socket = await this.bindFreePort();
    const stream = new RtpMediaStream(socket, {
      ...this.options.stream,
      id: callId,
      format,
      pacer: this.pacer,
      log: this.options.log.child({ callId, transport: 'rtp' }),
      idlePolicy: this.options.idlePolicy ?? 'silence',
      burstCounters: this.counters,
    });
    this.streams.add(stream);
    this.counters.allocated++;
    this.counters.active = this.streams.size;
    stream.once('close', () => {
      this.streams.delete(stream);
      this.counters.active = this.streams.size;
    });
    return stream;
  }

  /** `host:port` for ARI's externalMedia `external_host`. */
  externalHost(stream: RtpMediaStream): string {
    const host = this.options.advertiseHost ?? this.host;
    return host.includes(':') ? `[${host}]:${stream.port}` : `${host}:${stream.port}`;
  }

  close(): void {
    for (const stream of [...this.streams]) stream.close('server closed');
  }

  private async bindFreePort(): Promise<Socket> {
    const { portMin, portMax } = this.options;
    const span = portMax - portMin + 1;
    for (let attempt = 0; attempt < span; attempt++) {
      const port = portMin === 0 ? 0 : this.cursor;
      if (portMin !== 0) this.cursor = this.cursor >= portMax ? portMin : this.cursor + 1;
      const socket = await tryBind(this.host, port);
      if (socket) return socket;
    }
    this.counters.portsExhausted++;
    throw new Error(`no free RTP port in ${portMin}-${portMax}`);
  }
}

function tryBind(host: string, port: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', lookup: ipLiteralLookup });
    const onError = (): void => {
      socket.close();
      resolve(null);
    };
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
}
