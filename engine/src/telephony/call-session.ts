// Size: one caller's whole ARI lifecycle (setup, every control action, teardown) shares this state.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, PlaybackFinished } from 'ari-client';
import { registerPhoneNumber, unregisterPhoneNumber, type Logger } from '@ai-agent/common';
import type {
  CallActions,
  CallControl,
  CallInfo,
  CallOutcome,
  ConversationFactory,
  ConversationPort,
  ConversationState,
  TransferTarget,
  TurnRecord,
  WarmTransferResult,
  WarmTransferTarget,
} from '../call/index.ts';
import type { CallStore } from '../store/types.ts';
import { settledWithin } from './ari-bounded.ts';
import { CallRecorder } from './call-recorder.ts';
import type { Admission } from './admission.ts';
import type { AriConnection } from './ari-connection.ts';
import type { MediaLeg, MediaLegFactory } from './media-leg.ts';
import type { ActiveCall, CallState } from './registry.ts';
import { SessionState } from './session-state.ts';
import { TurnLog, WarmTransfer } from './warm-transfer.ts';
import type { ManagedSession } from './session-registry.ts';

/** Longest wait for a goodbye message before the line is cut anyway. */
const FINISH_GRACE_MS = 15_000;
/**
 * A stock prompt is a goodbye too, so it gets the same bound; it only matters if PlaybackFinished is lost (the
 * stock prompts last a few seconds).
 */
const PLAYBACK_LIMIT_MS = FINISH_GRACE_MS;
/**
 * Longest wait for the media channel's StasisStart: a few ms after the externalMedia reply on an idle Asterisk,
 * later on a busy one. Bridging it before answers 422.
 */
const MEDIA_STASIS_LIMIT_MS = 5_000;
/** Pause before the one retry of a media addChannel refused with 422 after its StasisStart. */
const BRIDGE_RETRY_MS = 50;
/**
 * How long a failed setup waits for the caller's StasisEnd: a request that failed because the caller just hung
 * up (404) can come back on its HTTP connection before the event does on the events socket.
 */
const CALLER_GONE_GRACE_MS = 250;

/** The registry's view of the conversation's own states. */
export function fromConversation(state: ConversationState): CallState {
  if (state === 'starting') return 'connecting_media';
  if (state === 'ended') return 'ending';
  return state;
}

/** What StasisStart told us about the caller's channel. */
export interface CallerChannel {
  id: string;
  name: string;
  state: string;
  callerNumber?: string;
  callerName?: string;
  variables: Record<string, string>;
  args: string[];
}

export interface CallSessionDeps {
  ari: AriConnection;
  app: string;
  legs: MediaLegFactory;
  conversations: ConversationFactory;
  admission: Admission;
  store: CallStore | null;
  /** Maps the dialplan's AI_CONTEXT (or first Stasis arg) to a configured context name. */
  resolveContext: (requested: string | undefined) => string;
  log: Logger;
}

/**
 * One caller's call under Stasis: answer, admission, bridge + media leg, the conversation, and a complete
 * teardown whatever ends it (caller hangup, agent hangup, transfer, ARI error, media loss).
 */
export class CallSession implements CallControl, ManagedSession {
  readonly id = randomUUID();
  readonly actions: CallActions = { transfer: true, sendDtmf: true };
  readonly info: CallInfo;
  private recorder!: CallRecorder;
  /** The turns so far, for a warm transfer's briefing. */
  private readonly turnLog = new TurnLog();
  private readonly state: SessionState;
  private readonly log: Logger;
  private leg: MediaLeg | null = null;
  /** Chosen before ExternalMedia is requested, so its StasisStart is recognised whenever it comes. */
  private readonly mediaChannelId = randomUUID();
  private mediaInStasis = false;
  /** Set while run() waits for the media channel's StasisStart; also called by teardown to stop that wait. */
  private wakeMediaWait: (() => void) | null = null;
  private bridgeId: string | null = null;
  private conversation: ConversationPort | null = null;
  private releaseAdmission: (() => void) | null = null;
  /** Frees what the conversation prepared while the media was set up, if the call ends before it starts. */
  private releasePrepared: (() => void) | null = null;
  private outcome: CallOutcome | null = null;
  private hangupCause: string | undefined;
  private ended: Promise<void> | null = null;
  private markEnding!: () => void;
  /** Resolves when end() is first called, whoever calls it. */
  private readonly ending = new Promise<void>((resolve) => { this.markEnding = resolve; });
  private resolveDone!: () => void;
  /** Resolves when the session has fully ended and released everything. */
  readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });

  constructor(private readonly caller: CallerChannel, private readonly deps: CallSessionDeps) {
    registerPhoneNumber(caller.callerNumber);
    const context = deps.resolveContext(caller.variables.AI_CONTEXT || caller.args[0]);
    this.info = {
      id: this.id,
      channelId: caller.id,
      context,
      callerNumber: caller.callerNumber,
      callerName: caller.callerName,
      transport: deps.legs.transport,
      codec: deps.legs.codec,
    };
    this.log = deps.log.child({ callId: this.id, channelId: caller.id, context });
    this.state = new SessionState((from, to) => this.log.debug({ from, to }, 'call state'));
    this.recorder = new CallRecorder(deps.store, this.info);
  }

  get callState(): CallState {
    const s = this.state.value;
    if (this.conversation && !this.state.isOver && s !== 'transferring') return fromConversation(this.conversation.state);
    return s;
  }

  snapshot(): ActiveCall {
    return { info: { ...this.info }, state: this.callState, startedAt: this.recorder.startedAt, answeredAt: this.recorder.answeredAt };
  }

  /** Ids of ARI channels this session owns (the caller's and its media channel). */
  ownsChannel(channelId: string): boolean {
    return channelId === this.caller.id || channelId === this.mediaChannelId;
  }

  isMediaChannel(channelId: string): boolean {
    return channelId === this.mediaChannelId;
  }

  /** StasisStart of this session's media channel: from now on it can be bridged. */
  mediaEnteredStasis(): void {
    this.mediaInStasis = true;
    this.wakeMediaWait?.();
  }

  private get ari(): Client {
    return this.deps.ari.api;
  }

  /** The client, or null while ARI is down: media and records are still released; reconcile cleans Asterisk later. */
  private get ariIfConnected(): Client | null {
    try {
      return this.deps.ari.api;
    } catch {
      return null;
    }
  }

  async run(): Promise<void> {
    this.log.info({ caller: this.caller.callerNumber, args: this.caller.args }, 'call entered Stasis');
    try {
      if (this.caller.state !== 'Up') await this.ari.channels.answer({ channelId: this.caller.id });
      this.recorder.answered();
      if (this.outcome) return;

      const decision = await this.deps.admission.tryAdmit(this.info.context);
      if (!decision.admit) {
        this.log.warn({ reason: decision.reason }, 'call refused by limits');
        await this.refuse(decision.message);
        return;
      }
      // Gone while the answer came (another process counts): its teardown had no slot to give back.
      if (this.outcome) return decision.release();
      this.releaseAdmission = decision.release;
      // From here the conversation may get ready (open its agent's session) while the media path is set up.
      this.releasePrepared = this.deps.conversations.prepare?.({ info: this.info, control: this, log: this.log }) ?? null;

      this.state.to('connecting_media');
      const bridge = await this.ari.bridges.create({ type: 'mixing', bridgeId: randomUUID(), name: `ai-${this.id}` });
      this.bridgeId = bridge.id;
      // The caller is already in Stasis: bridge it while the media leg is being set up.
      const callerBridged = this.ari.bridges.addChannel({ bridgeId: bridge.id, channel: this.caller.id });
      callerBridged.catch(() => undefined); // awaited below; this only covers the leg failing first
      const leg = await this.deps.legs.create({ callId: this.id, app: this.deps.app, channelId: this.mediaChannelId }, this.ari);
      if (this.outcome) {
        await leg.close(this.ariIfConnected); // the caller left meanwhile and teardown had no leg to close
        return;
      }
      this.leg = leg;
      leg.stream.once('close', (reason) => {
        if (!this.outcome) void this.end('error', `media closed: ${reason}`);
      });
      await callerBridged;
      await this.waitForMediaInStasis();
      if (this.outcome) return;
      await this.bridgeMedia(bridge.id);
      if (this.outcome) return;

      this.state.to('greeting');
      this.conversation = this.deps.conversations({
        info: this.info,
        media: leg.stream,
        control: this,
        log: this.log,
        record: this.turnLog.tap(this.recorder.sink),
        dtmfFromMedia: false,
      });
      this.conversation.once('ended', (outcome) => void this.end(outcome));
      await this.conversation.start();
    } catch (err) {
      if (!this.outcome) await Promise.race([this.ending, sleep(CALLER_GONE_GRACE_MS)]);
      if (this.outcome) return; // the caller left while we were setting up
      this.log.error({ err: { message: (err as Error).message } }, 'call setup failed');
      await this.end('error', 'setup failed');
    }
  }

  /** Resolves once the media channel is in Stasis (or the call ended); rejects after MEDIA_STASIS_LIMIT_MS. */
  private waitForMediaInStasis(): Promise<void> {
    if (this.mediaInStasis || this.outcome) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wakeMediaWait = null;
        reject(new Error(`media channel did not enter Stasis within ${MEDIA_STASIS_LIMIT_MS} ms`));
      }, MEDIA_STASIS_LIMIT_MS);
      this.wakeMediaWait = () => {
        clearTimeout(timer);
        this.wakeMediaWait = null;
        resolve();
      };
    });
  }

  /** Adds the media channel to the bridge, retrying once if Asterisk still says it is not in Stasis. */
  private async bridgeMedia(bridgeId: string): Promise<void> {
    const add = () => this.ari.bridges.addChannel({ bridgeId, channel: this.mediaChannelId });
    try {
      await add();
    } catch (err) {
      if (!/Channel not in Stasis application/.test((err as Error).message)) throw err;
      this.log.warn('media channel not yet bridgeable after its StasisStart; retrying once');
      await new Promise((resolve) => setTimeout(resolve, BRIDGE_RETRY_MS));
      if (!this.outcome) await add();
    }
  }

  /** Over the limit: the busy message with Asterisk's own playback, then release the channel. */
  private async refuse(message: string): Promise<void> {
    if (message.startsWith('sound:')) await this.playSound(message).catch(() => undefined);
    await this.end('rejected_busy', 'over limit');
  }

  // --- CallControl (used by the conversation and its tools) ---

  async hangup(outcome: CallOutcome = 'completed'): Promise<void> {
    await this.end(this.outcome ?? outcome, 'agent hangup');
  }

  async transfer(target: TransferTarget): Promise<void> {
    if (this.state.isOver) return;
    this.state.to('transferring');
    this.log.info({ target }, 'blind transfer');
    try {
      // Ringing indication first, so the caller hears ringback rather than silence while the dialplan dials.
      await this.ari.channels.ring({ channelId: this.caller.id }).catch(() => undefined);
      if (this.bridgeId) await this.ari.bridges.removeChannel({ bridgeId: this.bridgeId, channel: this.caller.id }).catch(() => undefined);
      await this.ari.channels.continueInDialplan({
        channelId: this.caller.id,
        context: target.context,
        extension: target.extension,
        priority: target.priority,
      });
      await this.end('transferred', 'transfer');
    } catch (err) {
      this.log.error({ err: { message: (err as Error).message } }, 'transfer failed');
      await this.end('error', 'transfer failed');
    }
  }

  /** See CallControl.warmTransfer; the ARI steps are in warm-transfer.ts. */
  async warmTransfer(target: WarmTransferTarget, brief: (turns: readonly TurnRecord[]) => Promise<void>): Promise<WarmTransferResult> {
    if (this.state.isOver || !this.bridgeId) return { status: 'failed', detail: 'the call is ending' };
    const deps = { ari: this.ari, app: this.deps.app, callId: this.id, caller: this.caller, agentBridgeId: this.bridgeId, log: this.log };
    const result = await new WarmTransfer(deps).run(target, () => brief(this.turnLog.turns));
    if (result.status !== 'connected') return result;
    this.conversation?.close('transferred');
    await this.end('transferred', `warm transfer to ${target.name}`);
    return result;
  }

  async sendDtmf(digits: string): Promise<void> {
    await this.ari.channels.sendDTMF({ channelId: this.caller.id, dtmf: digits });
  }

  async playSound(media: string): Promise<void> {
    const playbackId = randomUUID();
    const client = this.ari;
    let settle!: () => void;
    const finished = new Promise<void>((resolve) => (settle = resolve));
    // Listening before the request, so a prompt that finishes at once is not missed.
    const onFinished = (event: PlaybackFinished): void => {
      if (event.playback?.id === playbackId) settle();
    };
    client.on('PlaybackFinished', onFinished);
    const limit = setTimeout(settle, PLAYBACK_LIMIT_MS);
    try {
      await client.channels.play({ channelId: this.caller.id, media, playbackId });
      // A playback still queued when the caller leaves never finishes: the end of the call ends the wait too.
      await Promise.race([finished, this.done]);
    } finally {
      clearTimeout(limit);
      client.removeListener('PlaybackFinished', onFinished);
    }
  }

  // --- Events routed from the Stasis application ---

  dtmf(digit: string): void {
    this.conversation?.dtmf(digit);
  }

  /** The caller's channel left Stasis or is being hung up. */
  callerGone(cause: string): void {
    void this.end(this.outcome ?? 'caller_hangup', cause, true);
  }

  /** Plays `message` through the conversation (if any), then hangs up. Used by drain and operators. */
  async hangupWithMessage(outcome: CallOutcome, message?: string): Promise<void> {
    if (this.conversation && !this.state.isOver) {
      await Promise.race([this.conversation.finish(outcome, message), new Promise((r) => setTimeout(r, FINISH_GRACE_MS))]);
    }
    await this.end(outcome, 'hangup requested');
  }

  /** Ends the call once, releasing everything; later calls wait for the same teardown. */
  end(outcome: CallOutcome, cause?: string, callerAlreadyGone = false): Promise<void> {
    if (this.ended) return this.ended;
    this.markEnding();
    this.outcome = outcome;
    this.hangupCause = cause;
    this.ended = this.teardown(callerAlreadyGone);
    return this.ended;
  }

  private async teardown(callerAlreadyGone: boolean): Promise<void> {
    const wasTransferred = this.outcome === 'transferred';
    this.state.to('ending');
    this.wakeMediaWait?.();
    this.conversation?.close();
    this.releasePrepared?.();
    this.releasePrepared = null;
    const ari = this.ariIfConnected;
    await this.leg?.close(ari);
    if (ari && this.bridgeId) await settledWithin(ari.bridges.destroy({ bridgeId: this.bridgeId }));
    if (ari && !callerAlreadyGone && !wasTransferred) {
      await settledWithin(ari.channels.hangup({ channelId: this.caller.id, reason: 'normal' }));
    }
    this.releaseAdmission?.();
    this.releaseAdmission = null;
    this.state.to('ended');
    this.recorder.finish(this.outcome!, this.hangupCause);
    this.log.info({ outcome: this.outcome, cause: this.hangupCause }, 'call ended');
    unregisterPhoneNumber(this.caller.callerNumber);
    this.resolveDone();
  }
}
