// One call through the real pipeline: the engine's RTP media stream on loopback, driven by an RtpCaller
// playing Asterisk's side, with a recording CallControl and sink.
import { contextSchema, createLogger, type ContextConfig } from '@ai-agent/common';
import { Conversation } from '../../../src/pipeline/conversation.ts';
import { GreetingCache } from '../../../src/pipeline/greeting-cache.ts';
import type { ConversationHooks, ConversationSink } from '../../../src/pipeline/types.ts';
import type { PipelineProviders } from '../../../src/providers/types.ts';
import { VadService } from '../../../src/pipeline/vad/vad-service.ts';
import type {
  CallActions,
  CallControl,
  CallEventRecord,
  CallOutcome,
  TransferTarget,
  TurnRecord,
} from '../../../src/call/index.ts';
import { RtpMediaServer } from '../../../src/transport/rtp/rtp-server.ts';
import type { RtpMediaStream } from '../../../src/transport/rtp/rtp-stream.ts';
import { RtpCaller, sleep } from './rtp-caller.ts';

export const log = createLogger({ service: 'pipeline-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export class RecordingSink implements ConversationSink {
  readonly turns: TurnRecord[] = [];
  readonly events: CallEventRecord[] = [];
  turn(record: TurnRecord): void {
    this.turns.push(record);
  }
  event(record: CallEventRecord): void {
    this.events.push(record);
  }
}

/** Stands in for the ARI call session: records actions; hangup ends the media like Asterisk would. */
export class RecordingControl implements CallControl {
  /** A dialplan AudioSocket call, say, has neither. */
  actions: CallActions = { transfer: true, sendDtmf: true };
  readonly hangups: Array<{ at: number; reason?: string }> = [];
  readonly transfers: TransferTarget[] = [];
  readonly dtmf: string[] = [];
  media: RtpMediaStream | null = null;
  async hangup(reason?: string): Promise<void> {
    this.hangups.push({ at: performance.now(), reason });
    this.media?.close('hangup');
  }
  async transfer(target: TransferTarget): Promise<void> {
    this.transfers.push(target);
    this.media?.close('transferred');
  }
  async sendDtmf(digits: string): Promise<void> {
    this.dtmf.push(digits);
  }
  readonly sounds: string[] = [];
  async playSound(media: string): Promise<void> {
    this.sounds.push(media);
  }
}

let sharedVad: Promise<VadService> | null = null;
/** One VAD service per test process, as in the engine. */
export function vadService(): Promise<VadService> {
  sharedVad ??= VadService.start({ log });
  return sharedVad;
}

export async function closeVad(): Promise<void> {
  if (sharedVad) await (await sharedVad).close();
  sharedVad = null;
}

export interface TestCall {
  conv: Conversation;
  caller: RtpCaller;
  media: RtpMediaStream;
  control: RecordingControl;
  sink: RecordingSink;
  context: ContextConfig;
  startedAt: number;
  /** Listeners the media stream had before the conversation attached (its server's own). */
  baseListeners: Record<'frame' | 'dtmf' | 'close' | 'mark', number>;
  ended: Promise<CallOutcome>;
  close(): Promise<void>;
}

export async function startCall(options: {
  providers: PipelineProviders;
  context?: Record<string, unknown>;
  hooks?: ConversationHooks;
  greetings?: GreetingCache;
  /** What the call's telephony can do (default: everything, as on an ARI call). */
  actions?: CallActions;
}): Promise<TestCall> {
  const context = contextSchema.parse(options.context ?? {});
  const server = new RtpMediaServer({ log, portMin: 0, portMax: 0 });
  const media = await server.allocate(`call-${Math.random().toString(36).slice(2, 8)}`, 'ulaw');
  const caller = new RtpCaller();
  const callerPort = await caller.bind();
  media.setRemote('127.0.0.1', callerPort);
  const control = new RecordingControl();
  control.media = media;
  if (options.actions) control.actions = options.actions;
  const sink = new RecordingSink();
  const baseListeners = {
    frame: media.listenerCount('frame'), dtmf: media.listenerCount('dtmf'), close: media.listenerCount('close'), mark: media.listenerCount('mark'),
  };
  const conv = new Conversation({
    call: { id: media.id, context: 'default', transport: 'rtp', codec: 'ulaw' },
    media,
    control,
    context,
    providers: options.providers,
    vad: await vadService(),
    sink,
    log,
    greetings: options.greetings,
    hooks: options.hooks,
  });
  const ended = new Promise<CallOutcome>((resolve) => conv.once('ended', resolve));
  caller.start(media.port);
  const startedAt = performance.now();
  await conv.start();
  return {
    conv, caller, media, control, sink, context, startedAt, baseListeners, ended,
    async close() {
      conv.close();
      media.close('test end');
      server.close();
      caller.close();
      await sleep(5);
    },
  };
}

/** Polls `check` until true or the timeout; returns its last result. */
export async function until(check: () => boolean, timeoutMs = 10_000, stepMs = 10): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (check()) return true;
    await sleep(stepMs);
  }
  return check();
}
