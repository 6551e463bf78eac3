import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { isMediaFormat, type MediaFormat } from '../audio/formats.ts';
import { AudioSocketLeg } from '../audiosocket/audiosocket-leg.ts';
import { RtpLeg } from '../rtp/rtp-leg.ts';
import { WsMediaLeg, type ControlMessageFormat } from '../websocket/ws-media-leg.ts';
import type { InboundObserver } from '../media-endpoint.ts';
import { Channel } from './channel.ts';
import type { AsteriskCore } from './core.ts';
import { AriError } from './errors.ts';
import { nextUniqueId, pointerSuffix } from './json.ts';

/**
 * POST /channels/externalMedia (res/ari/resource_channels.c ast_ari_channels_external_media and the
 * UnicastRTP / AudioSocket / WebSocket channel drivers). Validation order and messages follow the source:
 * app, external_host (host:port, except for WebSocket), format; encapsulation defaults to rtp, transport
 * to udp, connection_type to client, direction to both; unsupported pairs are 501.
 */
export async function createExternalMedia(
  core: AsteriskCore,
  q: Record<string, string | undefined>,
  variables: Record<string, string>,
): Promise<{ channel: Channel; afterResponse: () => void }> {
  if (!q.app) throw new AriError(400, 'app cannot be empty');
  const encapsulation = (q.encapsulation || 'rtp').toLowerCase();
  const transport = (q.transport || 'udp').toLowerCase();
  const connectionType = (q.connection_type || 'client').toLowerCase();
  const isWebSocket = transport === 'websocket';
  if (!isWebSocket && !q.external_host) throw new AriError(400, 'external_host cannot be empty');
  let host = '';
  let port = 0;
  if (!isWebSocket) {
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(q.external_host!);
    if (!m || Number(m[2]) === 0 || Number(m[2]) > 65535) throw new AriError(400, 'external_host must be <host>:<port>');
    host = m[1];
    port = Number(m[2]);
  }
  if (!q.format) throw new AriError(400, 'format cannot be empty');
  if (!isMediaFormat(q.format)) throw new AriError(400, `Provided format (${q.format}) was not found`);
  const format = q.format;
  if (q.channelId && core.channels.has(q.channelId)) throw new AriError(409, 'Channel with given unique ID already exists');

  if (encapsulation === 'rtp' && transport === 'udp') return rtpUdp(core, q, variables, host, port, format);
  if (encapsulation === 'audiosocket' && transport === 'tcp') return audioSocketTcp(core, q, variables, host, port, format);
  if (isWebSocket && (encapsulation === 'none' || encapsulation === '')) {
    return connectionType === 'server'
      ? webSocketServer(core, q, variables, format)
      : webSocketClient(core, q, variables, format);
  }
  throw new AriError(501, 'The encapsulation and/or transport is not supported');
}

function newChannel(core: AsteriskCore, q: Record<string, string | undefined>, name: string, variables: Record<string, string>): Channel {
  const ch = new Channel(q.channelId ?? nextUniqueId(), name, 'external-media', {
    state: 'Down',
    dialplan: { context: 'default', exten: 's', priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' },
  });
  for (const [k, v] of Object.entries(variables)) ch.vars.set(k, v);
  ch.subscribers.add(q.app!);
  return ch;
}

/**
 * The observed sequence after the driver answers: Dial, ChannelStateChange(Up), Dial ANSWER, ChannelVarset,
 * StasisStart — a few ms after the reply (or the app's connection), so the channel is not yet in Stasis when the
 * reply arrives.
 */
function announce(core: AsteriskCore, ch: Channel, app: string, dialstring: string, varName: string, args: string[]): void {
  core.later(core.mediaStasisStartDelay(), () => announceNow(core, ch, app, dialstring, varName, args));
}

function announceNow(core: AsteriskCore, ch: Channel, app: string, dialstring: string, varName: string, args: string[]): void {
  if (ch.hungUp) return;
  const peer = () => core.channelJson(ch);
  core.emit('Dial', { dialstatus: '', dialstring, forward: '', peer: peer() }, ch);
  core.setState(ch, 'Up');
  core.emit('Dial', { dialstatus: 'ANSWER', dialstring, forward: '', peer: peer() }, ch);
  core.emit('ChannelVarset', { variable: varName, value: ch.vars.get(varName) ?? '', channel: peer() }, ch);
  core.enterStasis(ch, app, args);
}

/** Agent audio arriving on an ExternalMedia leg is credited to the callers bridged with it. */
function observer(ch: Channel): InboundObserver {
  return (audible, at) => {
    const bridge = ch.bridge;
    if (!bridge) return;
    for (const other of bridge.channels) if (other !== ch) other.session?.agentFrame(audible, at);
  };
}

async function rtpUdp(
  core: AsteriskCore, q: Record<string, string | undefined>, variables: Record<string, string>,
  host: string, port: number, format: MediaFormat,
) {
  if (format === 'slin') throw new AriError(501, 'format slin over RTP is not modelled by the test peer');
  const leg = new RtpLeg({ format, remoteHost: host, remotePort: port, log: core.log, impair: core.opts.impair });
  const local = await leg.bind();
  const ch = newChannel(core, q, `UnicastRTP/${q.external_host}-${pointerSuffix()}`, variables);
  ch.vars.set('UNICASTRTP_LOCAL_ADDRESS', local.address);
  ch.vars.set('UNICASTRTP_LOCAL_PORT', String(local.port));
  ch.media = leg;
  leg.onInbound = observer(ch);
  core.addChannel(ch);
  return {
    channel: ch,
    afterResponse: () => announce(core, ch, q.app!, q.external_host!, 'UNICASTRTP_LOCAL_PORT', argsOf(q.data)),
  };
}

async function audioSocketTcp(
  core: AsteriskCore, q: Record<string, string | undefined>, variables: Record<string, string>,
  host: string, port: number, format: MediaFormat,
) {
  if (!q.data) throw new AriError(400, 'data can not be empty');
  const leg = new AudioSocketLeg({ host, port, uuid: q.data, format, log: core.log });
  try {
    // The driver connects and writes the UUID frame inside the HTTP request, before the 200 reply.
    await leg.connect();
  } catch (err) {
    core.log.warn({ err: (err as Error).message }, 'AudioSocket connect failed');
    throw new AriError(500, 'Failed to create channel');
  }
  const ch = newChannel(core, q, `AudioSocket/${host}:${port}-${q.data}`, variables);
  ch.vars.set('AUDIOSOCKET_UUID', q.data);
  ch.vars.set('AUDIOSOCKET_SERVICE', `${host}:${port}`);
  ch.media = leg;
  leg.onInbound = observer(ch);
  leg.onEnd = (why) => {
    if (why !== 'peer-hangup') core.remoteHangup(ch, why === 'engine-hangup' ? 16 : 38);
  };
  core.addChannel(ch);
  return {
    channel: ch,
    afterResponse: () => announce(core, ch, q.app!, `${host}:${port}/${q.data}`, 'AUDIOSOCKET_UUID', argsOf(q.data)),
  };
}

/** transport_data carries chan_websocket dial options; f(json) switches control messages to JSON. */
function controlFormat(transportData: string | undefined): ControlMessageFormat {
  return /(^|[^a-z])f\(json\)/i.test(transportData ?? '') ? 'json' : 'plain-text';
}

/** A server-mode media WebSocket channel waiting for (or holding) the app's connection to /media/<id>. */
export interface PendingMediaSocket {
  channel: Channel;
  attach(ws: WebSocket): void;
  connected: boolean;
}

async function webSocketServer(
  core: AsteriskCore, q: Record<string, string | undefined>, variables: Record<string, string>, format: MediaFormat,
) {
  const connectionId = randomUUID();
  const ch = newChannel(core, q, `WebSocket/INCOMING/${pointerSuffix()}`, variables);
  ch.vars.set('MEDIA_WEBSOCKET_CONNECTION_ID', connectionId);
  ch.vars.set('MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE', String(frameSizeOf(format)));
  core.addChannel(ch);
  const attach = (ws: WebSocket) => {
    const leg = wsLeg(core, ch, ws, connectionId, format, q.transport_data);
    leg.start();
    // StasisStart for an incoming media WebSocket only comes once the app has connected.
    announce(core, ch, q.app!, 'INCOMING', 'MEDIA_WEBSOCKET_CONNECTION_ID', argsOf(q.data));
  };
  core.mediaSockets.set(connectionId, { channel: ch, attach, connected: false });
  return { channel: ch, afterResponse: () => {} };
}

async function webSocketClient(
  core: AsteriskCore, q: Record<string, string | undefined>, variables: Record<string, string>, format: MediaFormat,
) {
  const name = q.external_host;
  if (!name) throw new AriError(400, 'external_host cannot be empty');
  const client = core.opts.websocketClients?.[name];
  if (!client) throw new AriError(500, 'Failed to create channel');
  const ch = newChannel(core, q, `WebSocket/${name}/${pointerSuffix()}`, variables);
  ch.vars.set('MEDIA_WEBSOCKET_CONNECTION_ID', name);
  ch.vars.set('MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE', String(frameSizeOf(format)));
  core.addChannel(ch);
  return {
    channel: ch,
    afterResponse: () => {
      const ws = new WebSocket(client.uri, 'media');
      ws.once('open', () => {
        const leg = wsLeg(core, ch, ws, name, format, q.transport_data);
        leg.start();
        announce(core, ch, q.app!, name, 'MEDIA_WEBSOCKET_CONNECTION_ID', argsOf(q.data));
      });
      ws.once('error', (err) => {
        core.log.warn({ err: err.message }, 'media WebSocket client connection failed');
        if (!ch.media) core.remoteHangup(ch, 3);
      });
    },
  };
}

function wsLeg(core: AsteriskCore, ch: Channel, ws: WebSocket, connectionId: string, format: MediaFormat, transportData: string | undefined): WsMediaLeg {
  const leg = new WsMediaLeg(ws, {
    connectionId, channelName: ch.name, channelId: ch.id, format, controlFormat: controlFormat(transportData),
    channelVariables: () => Object.fromEntries(ch.vars), log: core.log,
  });
  ch.media = leg;
  leg.onInbound = observer(ch);
  leg.onEnd = () => core.remoteHangup(ch, 16);
  return leg;
}

function frameSizeOf(format: MediaFormat): number {
  return format === 'slin16' ? 640 : format === 'slin' ? 320 : 160;
}

function argsOf(data: string | undefined): string[] {
  return data ? [data] : [];
}
