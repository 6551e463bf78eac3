// Size: Asterisk's channel/bridge/playback state machine in one place, so event order matches the source.
import { randomUUID } from 'node:crypto';
import type { Logger } from '@ai-agent/common';
import { FRAME_SAMPLES } from '../audio/formats.ts';
import { isAudible } from '../audio/level.ts';
import { AudioSourceError, loadAudio } from '../audio/sources.ts';
import { TONES, toneCycle } from '../audio/tones.ts';
import type { CallerSession } from '../caller/session.ts';
import { sharedClock } from '../clock.ts';
import type { LegImpairments } from '../rtp/rtp-leg.ts';
import { AppRegistry, type Subject } from './app-registry.ts';
import { ModuleRegistry } from './modules.ts';
import { Bridge } from './bridge.ts';
import { HANGUP_REASONS, causeText } from './causes.ts';
import { Channel, type ChannelState, type PartyId } from './channel.ts';
import { AriError } from './errors.ts';
import { nextNameSuffix, nextUniqueId } from './json.ts';
import { Playback } from './playback.ts';
import type { PendingMediaSocket } from './external-media.ts';
import { attachPerson, type OutboundPerson } from './outbound-person.ts';
import { holdMusicCycle } from '../audio/hold-music.ts';

/** The target of a continue that names none: the caller's next dialplan priority. */
export const NEXT_PRIORITY = 'next priority';

export interface OutboundEndpointBehaviour {
  /** Answer this long after being dialled; null (default) never answers, so the dial times out. */
  answerAfterMs?: number | null;
  /** Refuse as busy (SIP 486) this long after being dialled: Dial BUSY, then ChannelDestroyed cause 17. */
  busyAfterMs?: number;
  /** Who answers: a scripted person, recorded like a caller. Without one the answered channel is silent. */
  person?: OutboundPerson;
}

export interface AsteriskCoreOptions {
  log: Logger;
  asteriskId: string;
  /** ari.conf `channelvars`: variables included in every channel snapshot ('all' = every variable set). */
  channelvars?: readonly string[] | 'all';
  /** websocket_client.conf: connections ExternalMedia/Dial may open to the app, by name. */
  websocketClients?: Record<string, { uri: string }>;
  /** How dialled endpoints (originate) behave, keyed by endpoint ("PJSIP/agent") or "*" for any. */
  endpoints?: Record<string, OutboundEndpointBehaviour>;
  /** After continue/redirect the caller hears ringback; the transfer target answers after this (null: never). */
  transferAnswerAfterMs?: number | null;
  /** Impairments applied to every ExternalMedia leg. */
  impair?: LegImpairments;
  /**
   * How long after the externalMedia reply (after the app connects, for a server-mode media WebSocket) the media
   * channel's StasisStart comes: a number of ms, or one per media channel by its index (0, 1, …).
   */
  mediaStasisStartDelayMs?: number | ((mediaIndex: number) => number);
  /** `system.version` of GET /asterisk/info. */
  version?: string;
}

/** Observed on an idle host: StasisStart ~4 ms after the externalMedia reply (later when the host is busy). */
export const DEFAULT_MEDIA_STASIS_START_DELAY_MS = 4;

/**
 * The Asterisk the peer models: channels, bridges, playbacks, Stasis apps and their events, and the
 * 20 ms mixer that moves audio between bridged channels. The ARI layer translates HTTP into these calls;
 * each method reproduces the checks and the event order of res/ari/resource_channels.c,
 * res/ari/resource_bridges.c and res/stasis/*.c, throwing AriError where Asterisk answers an error.
 */
export class AsteriskCore {
  readonly apps: AppRegistry;
  /** Loaded modules as GET /asterisk/modules reports them; tests unload one with `modules.unload(name)`. */
  readonly modules = new ModuleRegistry();
  readonly channels = new Map<string, Channel>();
  readonly bridges = new Map<string, Bridge>();
  readonly playbacks = new Map<string, Playback & { target: Channel | Bridge }>();
  /** Server-mode media WebSockets by connection id (chan_websocket's instances container). */
  readonly mediaSockets = new Map<string, PendingMediaSocket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopClock: (() => void) | null = null;
  private mediaChannels = 0;
  readonly startedAt = new Date();

  constructor(readonly opts: AsteriskCoreOptions) {
    this.apps = new AppRegistry(opts.asteriskId, opts.log);
  }

  get log(): Logger {
    return this.opts.log;
  }

  start(): void {
    this.stopClock ??= sharedClock.add((now) => this.tick(now));
  }

  stop(): void {
    for (const ch of [...this.channels.values()]) this.destroyChannel(ch, 16, { events: false });
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.apps.closeAll();
    this.stopClock?.();
    this.stopClock = null;
  }

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  // ---- events ---------------------------------------------------------------------------------------

  channelJson(ch: Channel): Record<string, unknown> {
    return ch.toJSON(this.opts.channelvars ?? 'all');
  }

  emit(type: string, fields: Record<string, unknown>, ...subjects: Subject[]): void {
    this.apps.emit(type, fields, subjects);
  }

  emitChannel(type: string, ch: Channel, extra: Record<string, unknown> = {}): void {
    this.emit(type, { ...extra, channel: this.channelJson(ch) }, ch);
  }

  setState(ch: Channel, state: ChannelState): void {
    if (ch.state === state) return;
    ch.state = state;
    this.emitChannel('ChannelStateChange', ch);
  }

  setVar(ch: Channel, name: string, value: string, emit = true): void {
    ch.vars.set(name, value);
    if (emit) this.emit('ChannelVarset', { variable: name, value, channel: this.channelJson(ch) }, ch);
  }

  /** The wait before the next media channel enters the app (bridging it earlier answers 422). */
  mediaStasisStartDelay(): number {
    const delay = this.opts.mediaStasisStartDelayMs ?? DEFAULT_MEDIA_STASIS_START_DELAY_MS;
    return typeof delay === 'number' ? delay : delay(this.mediaChannels++);
  }

  enterStasis(ch: Channel, app: string, args: string[]): void {
    ch.stasisApp = app;
    ch.subscribers.add(app);
    this.emit('StasisStart', { args, channel: this.channelJson(ch) }, ch);
  }

  // ---- lookups (the 404/409 split of find_control in resource_channels.c) ---------------------------

  channel(id: string): Channel {
    const ch = this.channels.get(id);
    if (!ch) throw new AriError(404, 'Channel not found');
    return ch;
  }

  control(id: string): Channel {
    const ch = this.channel(id);
    if (!ch.stasisApp) throw new AriError(409, 'Channel not in Stasis application');
    return ch;
  }

  bridge(id: string): Bridge {
    const b = this.bridges.get(id);
    if (!b) throw new AriError(404, 'Bridge not found');
    return b;
  }

  // ---- channels ---------------------------------------------------------------------------------------

  addChannel(ch: Channel): Channel {
    this.channels.set(ch.id, ch);
    this.start();
    return ch;
  }

  /** An inbound call arriving at `Stasis(app,args)`: the caller channel, in Ring state unless answered. */
  createCaller(opts: {
    app: string;
    args: string[];
    callerId: PartyId;
    variables: Record<string, string>;
    answered: boolean;
    context: string;
    extension: string;
    session: CallerSession;
  }): Channel {
    const tech = `PJSIP/${opts.callerId.number || 'caller'}-${nextNameSuffix()}`;
    const ch = new Channel(nextUniqueId(), tech, 'caller', {
      state: opts.answered ? 'Up' : 'Ring',
      caller: opts.callerId,
      dialplan: {
        context: opts.context,
        exten: opts.extension,
        priority: 2,
        app_name: 'Stasis',
        app_data: [opts.app, ...opts.args].join(','),
      },
    });
    for (const [k, v] of Object.entries(opts.variables)) ch.vars.set(k, v);
    ch.session = opts.session;
    ch.media = {
      pull: (now) => opts.session.pull(now),
      push: (frame) => opts.session.hear(frame),
      close: () => {},
    };
    opts.session.line = {
      sendDtmf: (digit, durationMs) => this.callerDtmf(ch, digit, durationMs),
      hangup: () => this.remoteHangup(ch, 16),
    };
    this.addChannel(ch);
    return ch;
  }

  /** DTMF from the caller: ChannelDtmfReceived, and the digit passed to the other bridged channels. */
  callerDtmf(ch: Channel, digit: string, durationMs: number): void {
    if (ch.hungUp) return;
    if (ch.stasisApp) this.emit('ChannelDtmfReceived', { digit, duration_ms: durationMs, channel: this.channelJson(ch) }, ch);
    if (ch.bridge) for (const other of ch.bridge.channels) if (other !== ch) other.media?.sendDtmf?.(digit);
  }

  answer(id: string): void {
    const ch = this.control(id);
    ch.ringback = null;
    this.setState(ch, 'Up');
  }

  /**
   * POST/DELETE /channels/{id}/moh (app_control_moh_start/stop): music on hold as a channel generator. ARI has
   * no MOH event; the session notes it. Any class plays the peer's music (Asterisk falls back to `default`).
   */
  musicOnHold(id: string, mohClass: string | null): void {
    const ch = this.control(id);
    if (mohClass !== null) {
      ch.musicOnHold ??= { samples: holdMusicCycle(), pos: 0 };
      ch.session?.note('asterisk', `music on hold started (class ${mohClass || 'default'})`);
    } else if (ch.musicOnHold) {
      ch.musicOnHold = null;
      ch.session?.note('asterisk', 'music on hold stopped');
    }
  }

  ring(id: string, on: boolean): void {
    const ch = this.control(id);
    ch.ringback = on ? { samples: toneCycle(TONES.ring), pos: 0 } : null;
  }

  /** DELETE /channels/{id}: validation as ast_ari_channels_hangup, then a soft hangup. */
  hangup(id: string, reason: string | undefined, reasonCode: string | undefined): void {
    const ch = this.channel(id);
    if (reason && reasonCode) throw new AriError(400, "The reason and reason_code can't both be specified");
    let cause = 16;
    if (reasonCode) {
      cause = Number(reasonCode);
      if (!Number.isInteger(cause)) throw new AriError(400, 'Invalid reason for hangup provided');
    } else if (reason) {
      const c = HANGUP_REASONS[reason];
      if (c === undefined) throw new AriError(400, 'Invalid reason for hangup provided');
      cause = c;
    }
    this.emit('ChannelHangupRequest', { cause, soft: true, channel: this.channelJson(ch) }, ch);
    this.destroyChannel(ch, cause, { events: true, destroyed: true });
    ch.session?.note('asterisk', `engine hung up the call (cause ${cause})`);
    ch.session?.remoteEnded('engine-hangup');
  }

  /** The far party hung up (caller BYE, media socket closed): ChannelHangupRequest without `soft`. */
  remoteHangup(ch: Channel, cause: number): void {
    if (ch.hungUp) return;
    this.emit('ChannelHangupRequest', { cause, channel: this.channelJson(ch) }, ch);
    // A caller's own hangup leaves the app with StasisEnd and no ChannelDestroyed (observed behaviour).
    this.destroyChannel(ch, cause, { events: true, destroyed: ch.kind !== 'caller' });
  }

  destroyChannel(ch: Channel, cause: number, opts: { events: boolean; destroyed?: boolean }): void {
    if (ch.hungUp) return;
    ch.hungUp = true;
    for (const pb of [...ch.playbacks]) this.finishPlayback(pb as Playback & { target: Channel }, 'done', opts.events);
    if (ch.bridge) this.leaveBridge(ch, opts.events);
    if (ch.stasisApp) {
      if (opts.events) this.emitChannel('StasisEnd', ch);
      ch.stasisApp = null;
    }
    if (opts.events && opts.destroyed) {
      this.emit('ChannelDestroyed', { cause, cause_txt: causeText(cause), channel: this.channelJson(ch) }, ch);
    }
    ch.media?.close();
    ch.ringback = null;
    this.channels.delete(ch.id);
    const connectionId = ch.vars.get('MEDIA_WEBSOCKET_CONNECTION_ID');
    if (connectionId && this.mediaSockets.get(connectionId)?.channel === ch) this.mediaSockets.delete(connectionId);
    if (!opts.events) ch.session?.remoteEnded('network', 'peer stopped');
  }

  getVariable(id: string, name: string | undefined): string {
    if (!name) throw new AriError(400, 'Variable name is required');
    const ch = this.channel(id);
    const value = ch.vars.get(name);
    if (value === undefined) throw new AriError(404, 'Provided variable was not found');
    return value;
  }

  setVariable(id: string, name: string | undefined, value: string | undefined): void {
    if (!name) throw new AriError(400, 'Variable name is required');
    const ch = this.control(id);
    this.setVar(ch, name, value ?? '');
  }

  /** continueInDialplan / redirect: the channel leaves Stasis; a caller then hears the modelled Dial ringing. */
  leaveStasis(id: string, target: string, how: 'continue' | 'redirect'): void {
    const ch = this.control(id);
    if (ch.bridge) this.leaveBridge(ch, true);
    this.emitChannel('StasisEnd', ch);
    ch.stasisApp = null;
    if (ch.kind !== 'caller') {
      // Outside the app, a channel with no dialplan left to run hangs up.
      this.later(5, () => this.remoteHangup(ch, 16));
      return;
    }
    if (target === NEXT_PRIORITY) {
      // A caller's extension here is only its Stasis() line: the next priority is none, so the PBX hangs up.
      // The app left with StasisEnd and hears nothing more of the channel.
      ch.session?.note('asterisk', 'continued in dialplan; no priority left: hangup');
      this.later(5, () => {
        this.destroyChannel(ch, 16, { events: false });
        ch.session?.remoteEnded('engine-hangup');
      });
      return;
    }
    ch.session?.note('asterisk', `${how === 'continue' ? 'continued in dialplan to' : 'redirected to'} ${target}; ringing`);
    ch.ringback = { samples: toneCycle(TONES.ring), pos: 0 };
    const answerAfter = this.opts.transferAnswerAfterMs;
    if (answerAfter !== undefined && answerAfter !== null) {
      this.later(answerAfter, () => {
        if (ch.hungUp) return;
        ch.ringback = null;
        ch.session?.note('asterisk', `transfer target ${target} answered`);
      });
    }
  }

  /**
   * POST /channels/{id}/move: a command queued to the channel (app_control_move), carried out by the
   * stasis_app_exec loop after the 204. The channel stays in Stasis, and in its bridge if it is in one.
   */
  moveToApp(id: string, app: string | undefined, args: string[]): void {
    const ch = this.control(id);
    // Asterisk does not check `app` (NULL reaches stasis_app_control_move); the peer answers 400 instead.
    if (!app) throw new AriError(400, "Required parameter 'app' not provided.");
    this.later(0, () => {
      const from = ch.stasisApp;
      if (ch.hungUp || !from) return;
      if (!this.apps.has(app)) {
        // The move is dropped: the channel stays with its app, which is told (not the dialplan fallback of Stasis()).
        this.log.error({ app }, `Could not move to Stasis app '${app}' - not registered`);
        this.apps.emitTo(from, 'ApplicationMoveFailed', { channel: this.channelJson(ch), destination: app, args });
        return;
      }
      this.emitChannel('StasisEnd', ch);
      // The old app's subscription ends with its StasisEnd; the new one subscribes with StasisStart.
      ch.subscribers.delete(from);
      ch.session?.note('asterisk', `moved from Stasis app ${from} to ${app}`);
      this.enterStasis(ch, app, args);
    });
  }

  redirect(id: string, endpoint: string | undefined): void {
    if (!endpoint) throw new AriError(400, "Required parameter 'endpoint' not provided.");
    const slash = endpoint.indexOf('/');
    if (slash <= 0 || slash === endpoint.length - 1) {
      throw new AriError(400, `Endpoint parameter '${endpoint}' does not contain tech/resource`);
    }
    const ch = this.control(id);
    const tech = endpoint.slice(0, slash);
    const chanTech = ch.name.slice(0, ch.name.indexOf('/'));
    if (tech.toLowerCase() !== chanTech.toLowerCase()) {
      throw new AriError(422, `Endpoint technology '${tech}' does not match channel technology '${chanTech}'`);
    }
    this.leaveStasis(id, endpoint, 'redirect');
  }

  /** POST /channels: dial an endpoint into an app (the transfer target, typically). */
  originate(q: Record<string, string | undefined>, variables: Record<string, string>): Channel {
    const endpoint = q.endpoint;
    if (!endpoint) throw new AriError(400, 'Endpoint must be specified');
    const slash = endpoint.indexOf('/');
    if (slash <= 0) throw new AriError(400, 'Invalid endpoint specified');
    if (!q.app && !q.extension) throw new AriError(400, 'Application or extension must be specified');
    if (q.channelId && this.channels.has(q.channelId)) throw new AriError(409, 'Channel with given unique ID already exists');
    const callerId = parseCallerId(q.callerId);
    const ch = new Channel(q.channelId ?? nextUniqueId(), `${endpoint}-${nextNameSuffix()}`, 'outbound', {
      state: 'Down',
      caller: callerId,
      dialplan: { context: q.context ?? 'default', exten: q.extension ?? 's', priority: Number(q.priority ?? 1), app_name: '', app_data: '' },
    });
    for (const [k, v] of Object.entries(variables)) ch.vars.set(k, v);
    ch.media = { pull: () => null, push: () => {}, close: () => {} };
    if (q.app) ch.subscribers.add(q.app);
    this.addChannel(ch);
    const behaviour = this.opts.endpoints?.[endpoint] ?? this.opts.endpoints?.['*'] ?? {};
    const timeoutS = q.timeout === undefined ? 30 : Number(q.timeout);
    queueMicrotask(() => {
      if (ch.hungUp) return;
      this.emit('Dial', { dialstatus: '', dialstring: endpoint.slice(slash + 1), forward: '', peer: this.channelJson(ch) }, ch);
      this.setState(ch, 'Ringing');
      this.emit('Dial', { dialstatus: 'RINGING', dialstring: endpoint.slice(slash + 1), forward: '', peer: this.channelJson(ch) }, ch);
    });
    const answerAfter = behaviour.answerAfterMs;
    if (behaviour.busyAfterMs !== undefined) {
      this.later(behaviour.busyAfterMs, () => {
        if (ch.hungUp) return;
        this.emit('Dial', { dialstatus: 'BUSY', dialstring: endpoint.slice(slash + 1), forward: '', peer: this.channelJson(ch) }, ch);
        this.remoteHangup(ch, 17);
      });
    } else if (answerAfter !== undefined && answerAfter !== null && (timeoutS < 0 || answerAfter < timeoutS * 1000)) {
      this.later(answerAfter, () => {
        if (ch.hungUp) return;
        if (behaviour.person) attachPerson(ch, behaviour.person, this.log, (c, cause) => this.remoteHangup(c, cause));
        this.setState(ch, 'Up');
        this.emit('Dial', { dialstatus: 'ANSWER', dialstring: endpoint.slice(slash + 1), forward: '', peer: this.channelJson(ch) }, ch);
        if (q.app) this.enterStasis(ch, q.app, q.appArgs ? q.appArgs.split(',') : []);
      });
    } else if (timeoutS >= 0) {
      this.later(timeoutS * 1000, () => {
        if (ch.hungUp) return;
        this.emit('Dial', { dialstatus: 'NOANSWER', dialstring: endpoint.slice(slash + 1), forward: '', peer: this.channelJson(ch) }, ch);
        this.remoteHangup(ch, 19);
      });
    }
    return ch;
  }

  // ---- bridges ------------------------------------------------------------------------------------------

  createBridge(q: Record<string, string | undefined>, app: string | null): Bridge {
    const id = q.bridgeId ?? randomUUID();
    if (this.bridges.has(id)) throw new AriError(409, 'Bridge with given unique ID already exists');
    const types = (q.type ?? 'mixing').split(',').map((t) => t.trim());
    const known = ['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label'];
    const bad = types.find((t) => !known.includes(t));
    if (bad) throw new AriError(400, `Invalid bridge type '${bad}'`);
    const bridge = new Bridge(id, types.includes('holding') ? 'holding' : 'mixing', q.name ?? '', 'Stasis');
    if (app) bridge.subscribers.add(app);
    this.bridges.set(id, bridge);
    this.start();
    this.emit('BridgeCreated', { bridge: bridge.toJSON() }, bridge);
    return bridge;
  }

  destroyBridge(id: string): void {
    const bridge = this.bridge(id);
    for (const ch of [...bridge.channels]) this.leaveBridge(ch, true);
    for (const pb of [...bridge.playbacks]) this.finishPlayback(pb as Playback & { target: Bridge }, 'done', true);
    this.bridges.delete(id);
    this.emit('BridgeDestroyed', { bridge: bridge.toJSON() }, bridge);
  }

  /** addChannel: missing channels are 400, channels outside Stasis 422 (resource_bridges.c find_channel_control). */
  addToBridge(bridgeId: string, channelIds: string[], opts: { mute?: boolean } = {}): void {
    const bridge = this.bridge(bridgeId);
    if (channelIds.length === 0) throw new AriError(400, 'Missing parameter channel');
    const chans = channelIds.map((cid) => {
      const ch = this.channels.get(cid);
      if (!ch) throw new AriError(400, 'Channel not found');
      if (!ch.stasisApp) throw new AriError(422, 'Channel not in Stasis application');
      return ch;
    });
    for (const ch of chans) {
      if (ch.bridge === bridge) continue;
      if (ch.bridge) this.leaveBridge(ch, true);
      ch.bridge = bridge;
      // addChannel's `mute`: the bridge does not hear the channel (it still hears the bridge).
      ch.mutedInBridge = opts.mute === true;
      bridge.channels.add(ch);
      for (const app of ch.subscribers) bridge.subscribers.add(app);
      this.emit('ChannelEnteredBridge', { bridge: bridge.toJSON(), channel: this.channelJson(ch) }, bridge, ch);
      ch.session?.note('asterisk', `entered bridge (${bridge.channels.size} channels)`);
    }
  }

  removeFromBridge(bridgeId: string, channelIds: string[]): void {
    const bridge = this.bridge(bridgeId);
    const chans = channelIds.map((cid) => {
      const ch = this.channels.get(cid);
      if (!ch) throw new AriError(400, 'Channel not found');
      if (!ch.stasisApp) throw new AriError(422, 'Channel not in Stasis application');
      if (ch.bridge !== bridge) throw new AriError(422, 'Channel not in this bridge');
      return ch;
    });
    for (const ch of chans) this.leaveBridge(ch, true);
  }

  private leaveBridge(ch: Channel, events: boolean): void {
    const bridge = ch.bridge;
    if (!bridge) return;
    bridge.channels.delete(ch);
    ch.bridge = null;
    if (events) this.emit('ChannelLeftBridge', { bridge: bridge.toJSON(), channel: this.channelJson(ch) }, bridge, ch);
  }

  // ---- playback -------------------------------------------------------------------------------------------

  play(target: Channel | Bridge, media: string[], lang: string | undefined, playbackId: string | undefined): Playback {
    if (media.length === 0 || media.some((m) => !m)) throw new AriError(400, 'Missing parameter media');
    const id = playbackId ?? randomUUID();
    if (this.playbacks.has(id)) throw new AriError(409, 'A playback with the given id already exists');
    const targetUri = target instanceof Channel ? `channel:${target.id}` : `bridge:${target.id}`;
    const pb = Object.assign(new Playback(id, media, targetUri, lang ?? 'en'), { target });
    this.playbacks.set(id, pb);
    target.playbacks.push(pb);
    void this.loadPlayback(pb);
    return pb;
  }

  stopPlayback(id: string): void {
    const pb = this.playbacks.get(id);
    if (!pb) throw new AriError(404, 'Playback not found');
    this.finishPlayback(pb, 'done', true);
  }

  getPlayback(id: string): Playback {
    const pb = this.playbacks.get(id);
    if (!pb) throw new AriError(404, 'Playback not found');
    return pb;
  }

  private async loadPlayback(pb: Playback & { target: Channel | Bridge }): Promise<void> {
    const parts: Int16Array[] = [];
    let failed = false;
    for (const uri of pb.mediaUris) {
      if (uri.startsWith('tone:')) pb.loop = true;
      try {
        parts.push(await loadAudio(uri));
      } catch (err) {
        if (!(err instanceof AudioSourceError)) throw err;
        this.log.warn({ uri }, 'playback media not found');
        failed = true;
      }
    }
    if (!this.playbacks.has(pb.id)) return;
    const total = parts.reduce((n, p) => n + p.length, 0);
    const samples = new Int16Array(total);
    let o = 0;
    for (const p of parts) {
      samples.set(p, o);
      o += p.length;
    }
    pb.samples = samples;
    if (failed && total === 0) {
      pb.state = 'playing';
      this.emitPlayback('PlaybackStarted', pb);
      this.finishPlayback(pb, 'failed', true);
    }
  }

  private emitPlayback(type: string, pb: Playback & { target: Channel | Bridge }): void {
    this.emit(type, { playback: pb.toJSON() }, pb.target);
  }

  private finishPlayback(pb: Playback & { target: Channel | Bridge }, state: 'done' | 'failed', events: boolean): void {
    if (!this.playbacks.has(pb.id)) return;
    this.playbacks.delete(pb.id);
    const list = pb.target.playbacks;
    const i = list.indexOf(pb);
    if (i >= 0) list.splice(i, 1);
    const wasPlaying = pb.state === 'playing';
    pb.state = state;
    if (events && (wasPlaying || state === 'failed')) this.emitPlayback('PlaybackFinished', pb);
  }

  /** The head playback's next frame, starting it (PlaybackStarted) when it first plays. */
  private playbackFrame(list: Playback[]): Int16Array | null {
    while (list.length > 0) {
      const pb = list[0] as Playback & { target: Channel | Bridge };
      if (!pb.samples) return null; // still loading
      if (pb.state === 'queued') {
        pb.state = 'playing';
        this.emitPlayback('PlaybackStarted', pb);
      }
      const frame = pb.nextFrame();
      if (frame) return frame;
      this.finishPlayback(pb, 'done', true);
    }
    return null;
  }

  // ---- the mixer ---------------------------------------------------------------------------------------------

  /** One 20 ms tick: pull every channel's audio, mix per bridge, push what each channel hears. */
  tick(now: number): void {
    for (const ch of this.channels.values()) {
      const frame = ch.media ? ch.media.pull(now) : null;
      ch.hasContribution = frame !== null;
      if (frame) ch.contribution.set(frame.subarray(0, FRAME_SAMPLES));
    }
    for (const bridge of this.bridges.values()) bridge.playFrame = this.playbackFrame(bridge.playbacks);
    // Map iteration tolerates a channel hanging up (and being deleted) inside push().
    for (const ch of this.channels.values()) {
      if (ch.hungUp) continue;
      ch.media?.push(this.heardBy(ch, now), now);
    }
  }

  private heardBy(ch: Channel, now: number): Int16Array | null {
    // A channel's own playback or ringback replaces the bridge audio while it plays.
    const own = this.playbackFrame(ch.playbacks);
    if (own) {
      // Prompts the app plays are agent audio too, heard at this tick.
      ch.session?.agentFrame(isAudible(own), now);
      return own;
    }
    const music = ch.musicOnHold;
    if (music) {
      // A channel generator (res_musiconhold): replaces what the bridge would give the channel.
      const n = Math.min(FRAME_SAMPLES, music.samples.length - music.pos);
      ch.heard.set(music.samples.subarray(music.pos, music.pos + n));
      if (n < FRAME_SAMPLES) ch.heard.set(music.samples.subarray(0, FRAME_SAMPLES - n), n);
      music.pos = (music.pos + FRAME_SAMPLES) % music.samples.length;
      return ch.heard;
    }
    if (ch.ringback) {
      const rb = ch.ringback;
      const n = Math.min(FRAME_SAMPLES, rb.samples.length - rb.pos);
      ch.heard.set(rb.samples.subarray(rb.pos, rb.pos + n));
      if (n < FRAME_SAMPLES) ch.heard.set(rb.samples.subarray(0, FRAME_SAMPLES - n), n);
      rb.pos = (rb.pos + FRAME_SAMPLES) % rb.samples.length;
      return ch.heard;
    }
    const bridge = ch.bridge;
    if (!bridge) return null;
    let sources = 0;
    const out = ch.heard;
    for (const other of bridge.channels) {
      if (other === ch || !other.hasContribution || other.mutedInBridge) continue;
      if (sources === 0) out.set(other.contribution);
      else for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = clamp(out[i] + other.contribution[i]);
      sources++;
    }
    if (bridge.playFrame) {
      ch.session?.agentFrame(isAudible(bridge.playFrame), now);
      if (sources === 0) out.set(bridge.playFrame);
      else for (let i = 0; i < FRAME_SAMPLES; i++) out[i] = clamp(out[i] + bridge.playFrame[i]);
      sources++;
    }
    return sources > 0 ? out : null;
  }
}

function clamp(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** "Name <number>" or a bare number, as Asterisk's callerId parameter. */
export function parseCallerId(text: string | undefined): PartyId {
  if (!text) return { name: '', number: '' };
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(text);
  if (m) return { name: m[1].trim(), number: m[2].trim() };
  return { name: '', number: text.trim() };
}
