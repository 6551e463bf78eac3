// A simulated call: the engine's scripted caller on one end, the context's real conversation, tools, limits and
// call record on the other (no Asterisk channel, like a browser test call, and marked as a test call). Its turns
// and events are also kept here, whole, for the judge: the stored record follows the store's redaction policy.
import type { CallActions, CallEventRecord, CallOutcome, CallRecordSink, TransferTarget, TurnRecord } from '../../call/index.ts';
import type { Pacer } from '../../audio/pacer.ts';
import { InProcessMediaStream, type InProcessStreamOptions } from '../../transport/in-process-stream.ts';
import { ChannelLessSession, type ChannelLessDeps } from '../channel-less-session.ts';
import { testCallerName } from '../test-call-session.ts';

export interface SimulatedCallDeps extends ChannelLessDeps {
  pacer: Pacer;
  stream?: Pick<InProcessStreamOptions, 'resamplerQuality' | 'jitterMinDelayMs' | 'jitterMaxDelayMs' | 'maxQueueSeconds'>;
}

export interface SimulatedCallRequest {
  context: string;
  /** Who ran the simulation, as the admin UI's audit log names them. */
  by: string;
  callerNumber: string;
  /** Gets each 20 ms frame the agent plays (8 kHz). */
  hear: (frame: Int16Array) => void;
}

/** The simulated caller is on a phone line: the recogniser hears what it would from Asterisk (8 kHz µ-law). */
export const SIMULATED_LINE_FORMAT = 'ulaw';

export class SimulatedCallSession extends ChannelLessSession {
  /** A blind transfer is offered and simulated (see `transfer`), as a phone call through Asterisk would offer it. */
  override readonly actions: CallActions = { transfer: true, sendDtmf: false };
  protected readonly media: InProcessMediaStream;
  readonly turns: TurnRecord[] = [];
  readonly events: CallEventRecord[] = [];

  constructor(request: SimulatedCallRequest, deps: SimulatedCallDeps) {
    super(
      { context: request.context, callerNumber: request.callerNumber, callerName: testCallerName(`simulator, ${request.by}`), transport: 'browser', codec: SIMULATED_LINE_FORMAT },
      { context: request.context, testCall: true, simulation: true },
      deps,
      'a simulated call has no Asterisk channel',
    );
    this.media = new InProcessMediaStream({ ...deps.stream, id: this.id, pacer: deps.pacer, log: this.log.child({ transport: 'simulation' }), format: SIMULATED_LINE_FORMAT, farEnd: request.hear });
  }

  /** The call's line, as its caller sees it. */
  get line(): InProcessMediaStream {
    return this.media;
  }

  get outcomeSoFar(): CallOutcome | null {
    return this.outcome;
  }

  private readonly keepingSink: CallRecordSink = {
    turn: (turn) => {
      this.turns.push(turn);
      this.recorder.sink.turn(turn);
    },
    event: (event) => {
      this.events.push(event);
      this.recorder.sink.event(event);
    },
  };

  protected override get sink(): CallRecordSink {
    return this.keepingSink;
  }

  /**
   * Where a phone call would leave for the dialplan target, the simulated caller is done: the call ends as
   * `transferred` (the tool call and its target are in the record), nothing is dialled.
   */
  override async transfer(target?: TransferTarget): Promise<void> {
    this.log.info({ target: target && `${target.context},${target.extension},${target.priority}` }, 'simulated transfer');
    this.end('transferred', 'simulated transfer');
  }

  protected started(): void {
    this.log.info('simulated call started');
  }

  protected closeMedia(_outcome: CallOutcome, cause: string): void {
    this.media.close(cause);
  }
}
