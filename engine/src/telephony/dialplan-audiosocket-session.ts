import { randomUUID } from 'node:crypto';
import type { Logger } from '@ai-agent/common';
import type { AudioSocketStream } from '../transport/audiosocket/audiosocket-stream.ts';
import type {
  CallActions,
  CallControl,
  CallInfo,
  CallOutcome,
  ConversationFactory,
  ConversationPort,
} from '../call/index.ts';
import type { CallStore } from '../store/types.ts';
import type { Admission } from './admission.ts';
import { CallRecorder } from './call-recorder.ts';
import type { ActiveCall } from './registry.ts';
import type { ManagedSession } from './session-registry.ts';
import { fromConversation } from './call-session.ts';

export interface DialplanAudioSocketDeps {
  conversations: ConversationFactory;
  admission: Admission;
  store: CallStore | null;
  context: string;
  log: Logger;
}

/**
 * A call the dialplan sent straight to our listener with `AudioSocket(uuid,host:port)`, without ARI. Hanging up
 * sends the 0x00 frame, after which Asterisk continues the dialplan; transfer and DTMF out need ARI, so the
 * model is not offered them.
 */
export class DialplanAudioSocketSession implements CallControl, ManagedSession {
  readonly id = randomUUID();
  readonly actions: CallActions = { transfer: false, sendDtmf: false };
  readonly info: CallInfo;
  private readonly recorder: CallRecorder;
  private readonly log: Logger;
  private conversation: ConversationPort | null = null;
  private release: (() => void) | null = null;
  private outcome: CallOutcome | null = null;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => { this.resolveDone = resolve; });

  constructor(private readonly stream: AudioSocketStream, private readonly deps: DialplanAudioSocketDeps) {
    this.info = { id: this.id, context: deps.context, transport: 'audiosocket', codec: stream.wireFormat };
    this.log = deps.log.child({ callId: this.id, audiosocket: stream.id });
    this.recorder = new CallRecorder(deps.store, this.info);
  }

  snapshot(): ActiveCall {
    const state = this.outcome ? 'ending' : this.conversation ? fromConversation(this.conversation.state) : 'connecting_media';
    return { info: { ...this.info }, state, startedAt: this.recorder.startedAt, answeredAt: this.recorder.answeredAt };
  }

  async run(): Promise<void> {
    // The dialplan answered before AudioSocket() (Asterisk requires it).
    this.recorder.answered();
    this.stream.once('close', (reason) => this.end(this.outcome ?? 'caller_hangup', reason));
    const decision = this.deps.admission.tryAdmit(this.info.context);
    if (!decision.admit) {
      this.log.warn({ reason: decision.reason }, 'call refused by limits');
      this.end('rejected_busy', decision.reason);
      return;
    }
    this.release = decision.release;
    this.log.info('dialplan AudioSocket call started');
    this.conversation = this.deps.conversations({
      info: this.info,
      media: this.stream,
      control: this,
      record: this.recorder.sink,
      log: this.log,
      dtmfFromMedia: true,
    });
    this.conversation.once('ended', (outcome) => this.end(outcome, 'conversation ended'));
    await this.conversation.start();
  }

  async hangup(outcome: CallOutcome = 'completed'): Promise<void> {
    this.end(this.outcome ?? outcome, 'agent hangup');
  }

  async transfer(): Promise<void> {
    throw new Error('transfer needs ARI; this call came from the dialplan AudioSocket() application');
  }

  async sendDtmf(): Promise<void> {
    throw new Error('sending DTMF needs ARI; this call came from the dialplan AudioSocket() application');
  }

  async playSound(): Promise<void> {
    throw new Error('Asterisk playback needs ARI; this call came from the dialplan AudioSocket() application');
  }

  async hangupWithMessage(outcome: CallOutcome, message?: string): Promise<void> {
    if (this.conversation && !this.outcome) {
      await Promise.race([this.conversation.finish(outcome, message), new Promise((r) => setTimeout(r, 15_000))]);
    }
    this.end(outcome, 'hangup requested');
  }

  private end(outcome: CallOutcome, cause: string): void {
    if (this.outcome) return;
    this.outcome = outcome;
    this.conversation?.close();
    this.stream.close(cause === 'remote hangup' || cause === 'connection closed' ? cause : 'hangup');
    this.release?.();
    this.recorder.finish(outcome, cause);
    this.log.info({ outcome, cause }, 'call ended');
    this.resolveDone();
  }
}
