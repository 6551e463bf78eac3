// A warm transfer over ARI: the caller on music on hold, the target dialled into the Stasis app, the agent's
// media leg briefing whoever answers, then caller and target bridged on their own and the engine's part over.
import { randomUUID } from 'node:crypto';
import type { Client } from 'ari-client';
import type { Logger } from '@ai-agent/common';
import type { CallRecordSink, TurnRecord, WarmTransferResult, WarmTransferTarget } from '../call/index.ts';
import { settledWithin } from './ari-bounded.ts';

/** First appArgs word of a dialled transfer target: its StasisStart is not a new caller (second word: call id). */
export const TRANSFER_LEG_ARG = 'warm-transfer';

/**
 * The engine's own bound on ringing beyond the originate timeout Asterisk enforces: a ChannelDestroyed lost with
 * an events reconnect must not keep the caller on hold for ever.
 */
const RING_GRACE_MS = 5_000;

/** Hangup causes (Asterisk causes.h) of a target that was reached but did not take the call. */
const BUSY_CAUSES = new Set([17 /* user busy */, 21 /* call rejected */]);
const UNANSWERED_CAUSES = new Set([0, 16 /* normal clearing */, 18 /* no user responding */, 19 /* no answer */]);

export interface WarmTransferDeps {
  ari: Client;
  app: string;
  callId: string;
  caller: { id: string; callerNumber?: string; callerName?: string };
  /** The mixing bridge holding the caller and the agent's media channel. */
  agentBridgeId: string;
  log: Logger;
}

interface AriChannelEvent {
  type?: string;
  channel?: { id?: string };
  cause?: number;
}

const EVENTS = ['StasisStart', 'StasisEnd', 'ChannelHangupRequest', 'ChannelDestroyed'] as const;

/**
 * One warm transfer of one call. Listens to ARI itself for the two channels it cares about (the target's
 * StasisStart is not routed to a call session), and once caller and target are bridged it stays on as the
 * pair's caretaker: when either hangs up, the other is hung up and their bridge destroyed, as a Stasis bridge
 * is never cleaned up by Asterisk on its own.
 */
export class WarmTransfer {
  private readonly targetId = randomUUID();
  private readonly pairBridgeId = randomUUID();
  private answered = false;
  private targetGone = false;
  private targetCause: number | null = null;
  private callerGone = false;
  private bridged = false;
  private released = false;
  private wake: (() => void) | null = null;
  private readonly onEvent = (event: AriChannelEvent): void => this.handle(event);

  constructor(private readonly deps: WarmTransferDeps) {}

  private get ari(): Client {
    return this.deps.ari;
  }

  async run(target: WarmTransferTarget, brief: () => Promise<void>): Promise<WarmTransferResult> {
    const log = this.deps.log.child({ transfer: target.name });
    for (const type of EVENTS) this.ari.on(type as never, this.onEvent as never);
    try {
      let result: WarmTransferResult;
      try {
        result = await this.attempt(target, brief, log);
      } catch (err) {
        // An ARI request or the briefing failed half-way: nobody is left on hold or ringing.
        if (this.bridged) throw err;
        await this.hangupTarget('normal');
        await this.backToAgent();
        result = { status: 'failed', detail: (err as Error).message };
      }
      log.info({ result: result.status, detail: 'detail' in result ? result.detail : undefined }, 'warm transfer finished');
      return result;
    } finally {
      if (!this.bridged) this.stopListening();
    }
  }

  private async attempt(target: WarmTransferTarget, brief: () => Promise<void>, log: Logger): Promise<WarmTransferResult> {
    const { caller, agentBridgeId } = this.deps;
    // The caller leaves the agent's bridge for music on hold: the agent's leg will talk to the target.
    await this.ari.bridges.removeChannel({ bridgeId: agentBridgeId, channel: caller.id });
    await this.ari.channels.startMoh({ channelId: caller.id, mohClass: target.mohClass });
    log.info({ endpoint: target.endpoint, ringTimeoutSeconds: target.ringTimeoutSeconds }, 'warm transfer: dialling the target');
    try {
      await this.ari.channels.originate({
        endpoint: target.endpoint,
        app: this.deps.app,
        appArgs: `${TRANSFER_LEG_ARG},${this.deps.callId}`,
        channelId: this.targetId,
        timeout: target.ringTimeoutSeconds,
        callerId: target.callerId ?? callerIdOf(caller),
      } as never);
    } catch (err) {
      await this.backToAgent();
      return { status: 'failed', detail: `originate refused: ${(err as Error).message}` };
    }

    await this.until(() => this.answered || this.targetGone || this.callerGone, target.ringTimeoutSeconds * 1000 + RING_GRACE_MS);
    if (this.callerGone) return this.callerLeft();
    if (!this.answered) {
      if (!this.targetGone) await this.hangupTarget('no_answer');
      await this.backToAgent();
      return unanswered(this.targetGone ? this.targetCause : null);
    }

    // Muted into the agent's bridge: the target hears the briefing, the conversation does not hear the target
    // (a "hello?" must not start a new turn in the middle of the transfer).
    log.info('warm transfer: target answered; briefing');
    await this.ari.bridges.addChannel({ bridgeId: agentBridgeId, channel: this.targetId, mute: true } as never);
    await Promise.race([brief(), this.until(() => this.targetGone || this.callerGone)]);
    if (this.callerGone) return this.callerLeft();
    if (this.targetGone) {
      await this.backToAgent();
      return { status: 'failed', detail: 'the target hung up during the briefing' };
    }

    await this.ari.bridges.create({ type: 'mixing', bridgeId: this.pairBridgeId, name: `transfer-${this.deps.callId}` });
    await this.ari.bridges.removeChannel({ bridgeId: agentBridgeId, channel: this.targetId });
    await this.ari.channels.stopMoh({ channelId: caller.id });
    await this.ari.bridges.addChannel({ bridgeId: this.pairBridgeId, channel: `${caller.id},${this.targetId}` });
    this.bridged = true;
    // Either side may have hung up while the bridge was being built.
    if (this.callerGone || this.targetGone) void this.releasePair();
    log.info('warm transfer: caller and target bridged');
    return { status: 'connected' };
  }

  private handle(event: AriChannelEvent): void {
    const id = event.channel?.id;
    if (id === this.targetId) {
      if (event.type === 'StasisStart') this.answered = true;
      else {
        if (typeof event.cause === 'number' && (this.targetCause === null || event.type === 'ChannelDestroyed')) this.targetCause = event.cause;
        // A hangup request is followed by StasisEnd or ChannelDestroyed: those mean the channel is gone.
        if (event.type !== 'ChannelHangupRequest') this.targetGone = true;
      }
    } else if (id === this.deps.caller.id && event.type !== 'StasisStart') {
      this.callerGone = true;
    } else {
      return;
    }
    if (this.bridged && (this.callerGone || this.targetGone)) void this.releasePair();
    this.wake?.();
  }

  /** Resolves once `done()` holds, or after `limitMs`. */
  private async until(done: () => boolean, limitMs = Infinity): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!done() && Date.now() < deadline && !this.released) {
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(limitMs) ? setTimeout(resolve, Math.max(0, deadline - Date.now())) : null;
        this.wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** The caller left while on hold or during the briefing: the target has nobody to talk to. */
  private async callerLeft(): Promise<WarmTransferResult> {
    await this.hangupTarget('normal');
    return { status: 'caller_gone', detail: 'the caller hung up during the transfer' };
  }

  /** Music off and the caller back in the agent's bridge; quiet if the caller has gone meanwhile. */
  private async backToAgent(): Promise<void> {
    const { caller, agentBridgeId } = this.deps;
    if (this.callerGone) return;
    await settledWithin(this.ari.channels.stopMoh({ channelId: caller.id }));
    await settledWithin(this.ari.bridges.addChannel({ bridgeId: agentBridgeId, channel: caller.id }));
  }

  private async hangupTarget(reason: 'normal' | 'no_answer'): Promise<void> {
    if (!this.targetGone) await settledWithin(this.ari.channels.hangup({ channelId: this.targetId, reason } as never));
  }

  /** One of the bridged pair hung up: the other is hung up too, and their bridge goes. */
  private async releasePair(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopListening();
    if (!this.callerGone) await settledWithin(this.ari.channels.hangup({ channelId: this.deps.caller.id, reason: 'normal' }));
    await this.hangupTarget('normal');
    await settledWithin(this.ari.bridges.destroy({ bridgeId: this.pairBridgeId }));
    this.deps.log.info({ transferCallId: this.deps.callId }, 'transferred call ended; bridge released');
  }

  private stopListening(): void {
    for (const type of EVENTS) this.ari.removeListener(type as never, this.onEvent as never);
  }
}

/** "Name <number>" as Asterisk's callerId parameter, or undefined to keep Asterisk's default. */
function callerIdOf(caller: { callerNumber?: string; callerName?: string }): string | undefined {
  if (!caller.callerNumber) return undefined;
  const name = caller.callerName?.replace(/[<>"]/g, '').trim();
  return name ? `"${name}" <${caller.callerNumber}>` : caller.callerNumber;
}

/** Why a dialled target did not answer, from the hangup cause of its channel (null: the engine gave up). */
function unanswered(cause: number | null): WarmTransferResult {
  if (cause === null) return { status: 'no_answer', detail: 'no answer before the ring timeout' };
  if (BUSY_CAUSES.has(cause)) return { status: 'busy', detail: `busy (cause ${cause})` };
  if (UNANSWERED_CAUSES.has(cause)) return { status: 'no_answer', detail: `no answer (cause ${cause})` };
  return { status: 'failed', detail: `the target could not be reached (cause ${cause})` };
}

/** Turns kept for a briefing: the end of a long call says what it is about. */
const MAX_TURNS = 40;

/** The call's turns as the conversation records them, kept in memory for a warm transfer's briefing. */
export class TurnLog {
  private readonly kept: TurnRecord[] = [];

  get turns(): readonly TurnRecord[] {
    return this.kept;
  }

  /** `sink`, with every turn also kept here. */
  tap(sink: CallRecordSink): CallRecordSink {
    return {
      turn: (turn) => {
        this.kept.push(turn);
        if (this.kept.length > MAX_TURNS) this.kept.shift();
        sink.turn(turn);
      },
      event: (event) => sink.event(event),
    };
  }
}
