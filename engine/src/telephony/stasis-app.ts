import type { Channel, Client, StasisStart } from 'ari-client';
import type { Logger } from '@ai-agent/common';
import type { AriConnection } from './ari-connection.ts';
import { CallSession, type CallSessionDeps, type CallerChannel } from './call-session.ts';
import type { SessionRegistry } from './session-registry.ts';
import { TRANSFER_LEG_ARG } from './warm-transfer.ts';

type SessionDeps = Omit<CallSessionDeps, 'ari'>;

const DTMF_DIGIT = /^[0-9A-D*#]$/;

/** Channel names of ExternalMedia / chan_websocket channels (chan_rtp, chan_audiosocket, chan_websocket). */
const MEDIA_CHANNEL = /^(UnicastRTP|MulticastRTP|AudioSocket|WebSocket)\//;

/** Another engine process that may take a new caller instead of this one (`shards:`). */
export interface CallDispatch {
  /** The Stasis app to move a caller to, or undefined to take it here; `load` is this process's calls. */
  target(load: number): string | undefined;
}

interface ChannelEvent {
  channel?: { id: string };
  cause?: number;
  cause_txt?: string;
  digit?: string;
}

/**
 * The Stasis application: turns ARI events into call sessions, routes later events to the session that owns
 * the channel, and keeps the registry of live calls. After an ARI reconnect it reconciles: sessions whose
 * channels no longer exist in Asterisk are ended (their media was kept running meanwhile).
 */
export class StasisApp {
  private readonly sessions = new Map<string, CallSession>();
  private accepting = true;

  constructor(
    private readonly ari: AriConnection,
    private readonly deps: SessionDeps,
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
    private readonly dispatch?: CallDispatch,
  ) {
    ari.on('connected', (client, reconnected) => {
      this.subscribe(client);
      if (reconnected) void this.reconcile(client);
    });
  }

  private subscribed = new WeakSet<Client>();
  /** Callers being moved to another engine process, until their StasisEnd (moved) or ApplicationMoveFailed. */
  private readonly moving = new Map<string, CallerChannel>();
  /** Callers between StasisStart and their session, with why they left if they did meanwhile. */
  private readonly starting = new Map<string, string | undefined>();

  private subscribe(client: Client): void {
    if (this.subscribed.has(client)) return;
    this.subscribed.add(client);
    client.on('StasisStart', (event: StasisStart, channel: Channel) => this.onStasisStart(event, channel));
    const gone = (label: string) => (event: ChannelEvent): void => {
      const id = event.channel?.id;
      if (typeof id !== 'string') return;
      if (this.moving.delete(id)) return;
      const cause = event.cause_txt ? `${label}: ${event.cause_txt}` : label;
      const session = this.byChannel(id);
      if (!session) {
        // A caller whose session is still being made (its channel variables asked for): kept for start().
        if (this.starting.has(id)) this.starting.set(id, this.starting.get(id) ?? cause);
        return;
      }
      if (session.isMediaChannel(id)) return;
      session.callerGone(cause);
    };
    client.on('StasisEnd', gone('StasisEnd') as never);
    client.on('ApplicationMoveFailed' as never, ((event: ChannelEvent & { destination?: unknown }) => {
      if (typeof event.channel?.id === 'string') this.moveFailed(event.channel.id, event.destination);
    }) as never);
    client.on('ChannelHangupRequest', gone('hangup') as never);
    client.on('ChannelDestroyed', gone('destroyed') as never);
    client.on('ChannelDtmfReceived', ((event: ChannelEvent) => {
      const id = event.channel?.id;
      if (typeof id === 'string' && typeof event.digit === 'string' && DTMF_DIGIT.test(event.digit)) this.byChannel(id)?.dtmf(event.digit);
    }) as never);
  }

  private byChannel(channelId: string): CallSession | undefined {
    for (const session of this.sessions.values()) if (session.ownsChannel(channelId)) return session;
    return undefined;
  }

  private onStasisStart(event: StasisStart, channel: Channel | undefined): void {
    if (typeof channel?.id !== 'string' || typeof channel.name !== 'string') {
      this.log.warn('StasisStart without a channel id and name; ignored');
      return;
    }
    // Our own ExternalMedia / WebSocket channels enter the app too, a few ms after the externalMedia reply: the
    // session waits for that before it bridges them.
    const owner = this.byChannel(channel.id);
    if (owner) {
      if (owner.isMediaChannel(channel.id)) owner.mediaEnteredStasis();
      return;
    }
    const args = (Array.isArray(event.args) ? event.args : [event.args]).filter((a): a is string => typeof a === 'string' && a !== '');
    if (args[0] === TRANSFER_LEG_ARG) {
      // A target a warm transfer dialled: that transfer watches it. One whose call is gone (an engine restart
      // while it rang) has nobody to be put through to.
      if (!this.sessions.has(args[1] ?? '')) void this.ari.api.channels.hangup({ channelId: channel.id }).catch(() => undefined);
      return;
    }
    if (MEDIA_CHANNEL.test(channel.name)) {
      // A media channel of a session that is already gone (or of another engine): never a caller.
      this.log.debug({ channelId: channel.id }, 'ignoring StasisStart of an unowned media channel');
      return;
    }
    const raw = channel as unknown as { channelvars?: Record<string, string>; caller?: { number?: string; name?: string } };
    const caller: CallerChannel = {
      id: channel.id,
      name: channel.name,
      state: String(channel.state),
      callerNumber: text(raw.caller?.number),
      callerName: text(raw.caller?.name),
      variables: strings(raw.channelvars),
      args,
    };
    if (!this.accepting) {
      // Back to the dialplan, not hung up: the next priority can send it to another engine, a queue or a
      // message (AI_AGENT_STATUS=draining tells why Stasis returned); with none left, Asterisk hangs up.
      this.log.warn({ channelId: channel.id }, 'draining: new call sent back to the dialplan');
      void this.returnToDialplan(channel.id);
      return;
    }
    const target = this.dispatch?.target(this.sessions.size + this.starting.size);
    if (target) void this.move(caller, target);
    else void this.start(caller);
  }

  /**
   * Hands a new caller to another engine process: Asterisk moves the channel to that process's Stasis app. The
   * outcome comes as an event: StasisEnd here (moved; StasisStart there, same args) or ApplicationMoveFailed (that
   * app is not registered: the channel stays here, and so does the call).
   */
  private async move(caller: CallerChannel, app: string): Promise<void> {
    const channels = this.ari.api.channels as unknown as { move?: (p: { channelId: string; app: string; appArgs: string }) => Promise<void> };
    if (typeof channels.move === 'function') {
      this.moving.set(caller.id, caller);
      try {
        await channels.move({ channelId: caller.id, app, appArgs: caller.args.join(',') });
        return;
      } catch (err) {
        // Gone meanwhile (its StasisEnd or hangup came first): nothing to take.
        if (!this.moving.delete(caller.id)) return;
        this.log.warn({ channelId: caller.id, app, reason: (err as Error).message }, 'moving the caller to another engine process failed; taking it here');
      }
    } else if (!this.warnedNoMove) {
      this.warnedNoMove = true;
      this.log.warn('this Asterisk has no ARI channels/move: every call stays in the first engine process (shards: 1 avoids the others)');
    }
    await this.start(caller);
  }

  private moveFailed(channelId: string, app: unknown): void {
    const caller = this.moving.get(channelId);
    if (!caller) return;
    this.moving.delete(channelId);
    this.log.warn({ channelId, app }, 'the engine process a caller was moved to has no Stasis app in Asterisk; taking the call here');
    void this.start(caller);
  }

  private warnedNoMove = false;

  private async start(caller: CallerChannel): Promise<void> {
    this.starting.set(caller.id, undefined);
    // Channel variables are in StasisStart only when ari.conf lists them; otherwise ask for the two we use.
    for (const variable of ['AI_CONTEXT', 'AI_PROVIDER']) {
      if (caller.variables[variable] !== undefined) continue;
      try {
        const result = await this.ari.api.channels.getChannelVar({ channelId: caller.id, variable });
        if (result.value) caller.variables[variable] = result.value;
      } catch {
        // unset variable (404) or channel gone
      }
    }
    const goneMeanwhile = this.starting.get(caller.id);
    this.starting.delete(caller.id);
    const session = new CallSession(caller, { ...this.deps, ari: this.ari });
    this.sessions.set(session.id, session);
    this.registry.add(session);
    void session.done.then(() => this.sessions.delete(session.id));
    // Its StasisEnd came before there was a session to tell: the call is recorded as the caller's hangup.
    if (goneMeanwhile !== undefined) return session.callerGone(goneMeanwhile);
    await session.run();
  }

  private async reconcile(client: Client): Promise<void> {
    try {
      const live = new Set((await client.channels.list()).map((c) => c.id));
      for (const session of this.sessions.values()) {
        if (!live.has(session.info.channelId!)) {
          this.log.warn({ callId: session.id }, 'channel vanished while ARI was disconnected; ending call');
          session.callerGone('vanished during ARI reconnect');
        }
      }
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'reconcile after reconnect failed');
    }
  }

  private async returnToDialplan(channelId: string): Promise<void> {
    const channels = this.ari.api.channels;
    try {
      await channels.setChannelVar({ channelId, variable: 'AI_AGENT_STATUS', value: 'draining' });
      await channels.continueInDialplan({ channelId });
    } catch {
      await channels.hangup({ channelId, reason: 'congestion' }).catch(() => undefined);
    }
  }

  /** Stops taking new calls (drain). */
  stopAccepting(): void {
    this.accepting = false;
  }
}

/** A non-empty string field of an event, or undefined (Asterisk's JSON is trusted for shape, not for types). */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The string entries of a `channelvars` object. */
function strings(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}
