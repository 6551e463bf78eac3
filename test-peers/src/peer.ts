import { randomBytes } from 'node:crypto';
import { createLogger, registerSecret, type Logger } from '@ai-agent/common';
import { AriServer } from './ari/server.ts';
import { AsteriskCore, type OutboundEndpointBehaviour } from './asterisk/core.ts';
import type { PartyId } from './asterisk/channel.ts';
import { CallerSession, type CallReport } from './caller/session.ts';
import type { ScriptStep } from './caller/script.ts';
import type { LegImpairments } from './rtp/rtp-leg.ts';

export interface AsteriskPeerOptions {
  /** ARI user (ari.conf). Default "asterisk". */
  username?: string;
  /** ARI password. Default: random. */
  password?: string;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** ARI/HTTP port (default 0: ephemeral). */
  port?: number;
  /** The version GET /asterisk/info reports (default 22.6.0). */
  version?: string;
  /** ari.conf `channelvars` (default 'all': every variable set on the channel appears in snapshots). */
  channelvars?: readonly string[] | 'all';
  /** websocket_client.conf entries for ExternalMedia transport=websocket connection_type=client. */
  websocketClients?: Record<string, { uri: string }>;
  /** Behaviour of endpoints the engine dials (originate), by endpoint or "*". */
  endpoints?: Record<string, OutboundEndpointBehaviour>;
  /** After continue/redirect the caller hears ringback until the target answers after this (default never). */
  transferAnswerAfterMs?: number | null;
  /** Network impairments on every ExternalMedia leg. */
  impair?: LegImpairments;
  /**
   * Delay of each media channel's StasisStart after the externalMedia reply (after the app connects, for a
   * server-mode media WebSocket): ms, or a function of the media channel's index. Default 4 ms, as observed.
   */
  mediaStasisStartDelayMs?: number | ((mediaIndex: number) => number);
  log?: Logger;
}

export interface PlaceCallOptions {
  app?: string;
  args?: string[];
  /** Channel variables set by the dialplan before Stasis() (e.g. AI_CONTEXT). */
  variables?: Record<string, string>;
  callerId?: Partial<PartyId>;
  script: readonly ScriptStep[];
  /** The dialplan answered before Stasis(): StasisStart in state Up. Default false (Ring: the app answers). */
  answered?: boolean;
  context?: string;
  extension?: string;
  /** Wait this long for the app to register before failing the call (default 0). */
  waitForAppMs?: number;
  /** The caller sends silence frames while not speaking (Asterisk transmit_silence=yes). */
  transmitSilence?: boolean;
  /** Hang up when the script ends (default true). */
  hangupAtEnd?: boolean;
}

export interface PlacedCall {
  /** Unique id of the caller channel (null when Stasis() failed). */
  channelId: string | null;
  session: CallerSession;
  done: Promise<CallReport>;
}

export interface AsteriskPeer {
  /** http://127.0.0.1:<port> — what the engine uses as its ARI base URL. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly core: AsteriskCore;
  /** Resolves true once `app` has registered on the events WebSocket. */
  waitForApp(app: string, timeoutMs: number): Promise<boolean>;
  /** Drops every ARI events connection and refuses new ones for `downMs` (calls and media carry on). */
  dropEvents(downMs: number): void;
  placeCall(opts: PlaceCallOptions): Promise<PlacedCall>;
  close(): Promise<void>;
}

/** Starts an Asterisk test peer: ARI REST + events + media WebSocket on one loopback port. */
export async function startAsteriskPeer(opts: AsteriskPeerOptions = {}): Promise<AsteriskPeer> {
  const log = opts.log ?? createLogger({ service: 'asterisk-test-peer', level: process.env.PEER_LOG_LEVEL ?? 'warn' });
  const username = opts.username ?? 'asterisk';
  const password = opts.password ?? randomBytes(12).toString('hex');
  registerSecret(password);
  const core = new AsteriskCore({
    log,
    asteriskId: randomMac(),
    channelvars: opts.channelvars,
    websocketClients: opts.websocketClients,
    endpoints: opts.endpoints,
    transferAnswerAfterMs: opts.transferAnswerAfterMs,
    impair: opts.impair,
    mediaStasisStartDelayMs: opts.mediaStasisStartDelayMs,
    version: opts.version,
  });
  const server = new AriServer({ core, username, password, log });
  const host = opts.host ?? '127.0.0.1';
  const port = await server.listen(host, opts.port ?? 0);

  return {
    url: `http://${host}:${port}`,
    host,
    port,
    username,
    password,
    core,
    waitForApp: (app, timeoutMs) => core.apps.waitFor(app, timeoutMs),
    dropEvents: (downMs) => server.dropEvents(downMs),
    async placeCall(call: PlaceCallOptions): Promise<PlacedCall> {
      const app = call.app ?? 'ai-agent';
      const session = new CallerSession({ script: call.script, log, transmitSilence: call.transmitSilence, hangupAtEnd: call.hangupAtEnd });
      await session.prepare();
      if (!core.apps.has(app) && !(call.waitForAppMs && (await core.apps.waitFor(app, call.waitForAppMs)))) {
        // Stasis() fails and the dialplan moves on: the call never reaches the engine.
        session.remoteEnded('error', `Stasis app '${app}' not registered`);
        return { channelId: null, session, done: session.done };
      }
      const ch = core.createCaller({
        app,
        args: call.args ?? [],
        callerId: { name: call.callerId?.name ?? '', number: call.callerId?.number ?? '' },
        variables: call.variables ?? {},
        answered: call.answered ?? false,
        context: call.context ?? 'from-external',
        extension: call.extension ?? 's',
        session,
      });
      core.enterStasis(ch, app, call.args ?? []);
      session.run();
      return { channelId: ch.id, session, done: session.done };
    },
    async close() {
      core.stop();
      await server.close();
    },
  };
}

function randomMac(): string {
  return [...randomBytes(6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
