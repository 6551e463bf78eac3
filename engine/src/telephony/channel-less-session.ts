import { randomUUID } from 'node:crypto';
import type { Logger } from '@ai-agent/common';
import type {
  CallActions,
  CallControl,
  CallInfo,
  CallOutcome,
  CallRecordSink,
  ConversationFactory,
  ConversationPort,
  MediaStream,
} from '../call/index.ts';
import type { CallStore } from '../store/types.ts';
import type { Admission } from './admission.ts';
import { CallRecorder } from './call-recorder.ts';
import { fromConversation } from './call-session.ts';
import type { ActiveCall } from './registry.ts';
import type { ManagedSession } from './session-registry.ts';

/** Longest wait for a goodbye message before the media is closed anyway (drain, operator hangup). */
const FINISH_GRACE_MS = 15_000;

export interface ChannelLessDeps {
  conversations: ConversationFactory;
  admission: Admission;
  store: CallStore | null;
  log: Logger;
}

/**
 * A call with no Asterisk channel to drive: its media stream is the whole call (the dialplan's AudioSocket()
 * connection, a browser's test-call socket). Closing the media hangs up; transfer, DTMF out and Asterisk
 * prompts need a channel, so the model is not offered them and a direct request says why (`unavailable`).
 * Admission, the conversation, the call record and the end are the same for every such call.
 */
export abstract class ChannelLessSession implements CallControl, ManagedSession {
  readonly id = randomUUID();
  readonly actions: CallActions = { transfer: false, sendDtmf: false };
  readonly info: CallInfo;
  protected readonly log: Logger;
  protected readonly recorder: CallRecorder;
  protected conversation: ConversationPort | null = null;
  protected outcome: CallOutcome | null = null;
  private release: (() => void) | null = null;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => {
    this.resolveDone = resolve;
  });

  /** The call's audio; closing it ends the call for the other side. */
  protected abstract readonly media: MediaStream;

  protected constructor(
    info: Omit<CallInfo, 'id'>,
    logFields: Record<string, unknown>,
    private readonly deps: ChannelLessDeps,
    /** Why channel actions are unavailable, ending "…; <unavailable>" in their errors. */
    private readonly unavailable: string,
  ) {
    this.info = { id: this.id, ...info };
    this.log = deps.log.child({ callId: this.id, ...logFields });
    this.recorder = new CallRecorder(deps.store, this.info);
  }

  snapshot(): ActiveCall {
    const state = this.outcome ? 'ending' : this.conversation ? fromConversation(this.conversation.state) : 'connecting_media';
    return { info: { ...this.info }, state, startedAt: this.recorder.startedAt, answeredAt: this.recorder.answeredAt };
  }

  /** Where the conversation's turns and events go: the call record, unless a session shows them elsewhere too. */
  protected get sink(): CallRecordSink {
    return this.recorder.sink;
  }

  /** Called once the call is admitted, before its conversation starts. */
  protected abstract started(): void;

  /** Called once at the end, before the media closes. */
  protected abstract closeMedia(outcome: CallOutcome, cause: string): void;

  async run(): Promise<void> {
    // Already answered: the dialplan answers before AudioSocket(), a browser is connected once its socket is.
    this.recorder.answered();
    this.media.once('close', (reason) => this.end(this.outcome ?? 'caller_hangup', reason));
    const decision = await this.deps.admission.tryAdmit(this.info.context);
    if (!decision.admit) {
      this.log.warn({ reason: decision.reason }, 'call refused by limits');
      this.end('rejected_busy', decision.reason);
      return;
    }
    if (this.outcome) return decision.release();
    this.release = decision.release;
    this.started();
    this.conversation = this.deps.conversations({
      info: this.info,
      media: this.media,
      control: this,
      record: this.sink,
      log: this.log,
      dtmfFromMedia: true,
    });
    this.conversation.once('ended', (outcome) => this.end(outcome, 'conversation ended'));
    try {
      await this.conversation.start();
    } catch (err) {
      this.log.error({ err: { message: (err as Error).message } }, 'call setup failed');
      this.end('error', 'setup failed');
    }
  }

  async hangup(outcome: CallOutcome = 'completed'): Promise<void> {
    this.end(this.outcome ?? outcome, 'agent hangup');
  }

  async transfer(): Promise<void> {
    throw new Error(`transfer is not available: ${this.unavailable}`);
  }

  async sendDtmf(): Promise<void> {
    throw new Error(`sending DTMF is not available: ${this.unavailable}`);
  }

  async playSound(): Promise<void> {
    throw new Error(`Asterisk playback is not available: ${this.unavailable}`);
  }

  async hangupWithMessage(outcome: CallOutcome, message?: string): Promise<void> {
    if (this.conversation && !this.outcome) {
      await Promise.race([this.conversation.finish(outcome, message), new Promise((r) => setTimeout(r, FINISH_GRACE_MS))]);
    }
    this.end(outcome, 'hangup requested');
  }

  protected end(outcome: CallOutcome, cause: string): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.conversation?.close();
    this.closeMedia(outcome, cause);
    this.release?.();
    this.recorder.finish(outcome, cause);
    this.log.info({ outcome, cause }, 'call ended');
    this.resolveDone();
  }
}
