// The simulated caller's side of an in-engine simulation: it speaks each turn's audio in real time, 20 ms a tick
// on the engine's own media clock, presses keys, listens for the agent (silence detection on what it hears) and
// hangs up, measuring what a caller would: when it spoke, when the agent answered, what timed out.
import type { CallerReport, CallerStep } from '@ai-agent/common/simulation';
import type { PacedSink, Pacer } from '../../audio/pacer.ts';
import { meanAbs } from '../../audio/level.ts';
import { FRAME_MS } from '../../call/index.ts';

/** Mean absolute level of an audible frame: about -46 dBFS, far above silence, below any speech. */
const AUDIBLE_LEVEL = 160;
/** A pause shorter than this does not end one of the agent's talk spurts. */
const SPURT_BREAK_MS = 400;
/** How long each key is pressed and the pause after it. */
const KEY_MS = 100;
const KEY_GAP_MS = 100;

/** What the caller needs of its line (the call's in-process media stream). */
export interface CallerLine {
  /** Samples of one 20 ms frame at the line's rate. */
  readonly frameSamples: number;
  receive(frame: Int16Array): void;
  pressKey(digit: string): void;
  close(reason?: string): void;
  readonly closed: boolean;
  once(event: 'close', listener: (reason: string) => void): unknown;
}

interface Speaking {
  samples: Int16Array;
  pos: number;
  onsetMs: number | null;
  endMs: number;
  done: () => void;
}

interface Waiter {
  check: (now: number) => boolean;
  deadline: number;
  resolve: (ok: boolean) => void;
}

export class ScriptedCaller implements PacedSink {
  private readonly startedAt = new Date();
  private readonly origin = performance.now();
  private readonly silence: Int16Array;
  private readonly agentAudible: number[] = [];
  private readonly turns: CallerReport['turns'] = [];
  private readonly transcript: CallerReport['transcript'] = [];
  private readonly timeouts: string[] = [];
  private speaking: Speaking | null = null;
  private waiters: Waiter[] = [];
  private endedBy: 'caller-hangup' | 'engine-hangup' | null = null;
  /** Turns begun (spoken or keyed): what a timed-out wait was waiting for. */
  private turnsBegun = 0;
  private readonly unregister: () => void;

  constructor(
    private readonly line: CallerLine,
    pacer: Pacer,
    /** Told what the caller is doing now ("turn 2 of 3: speaking"). */
    private readonly progress: (step: string) => void = () => undefined,
    private readonly totalTurns = 0,
  ) {
    this.silence = new Int16Array(line.frameSamples);
    this.unregister = pacer.add(this);
    line.once('close', () => this.finish('engine-hangup'));
  }

  private get now(): number {
    return performance.now() - this.origin;
  }

  /** A frame the agent played (the stream's far end). */
  hear(frame: Int16Array): void {
    if (meanAbs(frame) >= AUDIBLE_LEVEL) this.agentAudible.push(this.now);
  }

  sendTick(): void {
    const now = this.now;
    if (!this.endedBy) this.line.receive(this.nextFrame(now));
    this.waiters = this.waiters.filter((w) => {
      const ok = this.endedBy !== null || w.check(now);
      if (ok || now >= w.deadline) w.resolve(ok);
      return !(ok || now >= w.deadline);
    });
  }

  receiveTick(): void {}

  /** Plays the plan; `audio(turn)` is each spoken turn's speech at the line's rate. */
  async run(plan: CallerStep[], audio: (turn: number) => Int16Array): Promise<CallerReport> {
    for (const step of plan) {
      if (this.endedBy) break;
      const turn = `turn ${this.turnsBegun + 1} of ${this.totalTurns}`;
      if ('speak' in step) {
        this.turnsBegun++;
        this.progress(`${turn}: speaking`);
        await this.speak(audio(step.speak));
      } else if ('dtmf' in step) {
        this.turnsBegun++;
        this.progress(`${turn}: pressing keys`);
        for (const digit of step.dtmf) {
          this.transcript.push({ atMs: this.now, who: 'caller', text: `DTMF ${digit}` });
          this.line.pressKey(digit);
          await this.sleep(KEY_MS + KEY_GAP_MS);
        }
      } else if ('pause' in step) {
        this.progress('waiting for the agent to end the call');
        await this.sleep(step.pause);
      } else if ('waitForAgentSilence' in step) {
        const { silenceMs, timeoutMs } = step.waitForAgentSilence;
        this.progress(this.turnsBegun === 0 ? 'listening to the greeting' : `turn ${this.turnsBegun} of ${this.totalTurns}: listening to the answer`);
        const since = this.now;
        const last = (): number => this.agentAudible.at(-1) ?? -Infinity;
        const ok = await this.waitFor((now) => last() >= since - silenceMs && now - last() >= silenceMs, timeoutMs);
        if (!ok) this.timeouts.push(this.turnsBegun === 0 ? 'the greeting to end' : `the answer to turn ${this.turnsBegun}`);
      } else if ('hangup' in step) this.finish('caller-hangup');
    }
    this.finish('caller-hangup');
    return this.report();
  }

  private nextFrame(now: number): Int16Array {
    const s = this.speaking;
    if (!s) return this.silence;
    const size = this.line.frameSamples;
    const frame = s.samples.subarray(s.pos, s.pos + size);
    s.pos += size;
    if (meanAbs(frame) >= AUDIBLE_LEVEL) {
      s.onsetMs ??= now;
      s.endMs = now + FRAME_MS;
    }
    if (s.pos >= s.samples.length) {
      this.speaking = null;
      s.done();
    }
    if (frame.length === size) return frame;
    const padded = new Int16Array(size);
    padded.set(frame);
    return padded;
  }

  private speak(samples: Int16Array): Promise<void> {
    return new Promise((resolve) => {
      const s: Speaking = { samples, pos: 0, onsetMs: null, endMs: 0, done: () => undefined };
      s.done = () => {
        if (s.onsetMs !== null) this.turns.push({ onsetMs: s.onsetMs, speechEndMs: s.endMs, responseLatencyMs: null });
        resolve();
      };
      this.speaking = s;
    });
  }

  private waitFor(check: (now: number) => boolean, timeoutMs: number): Promise<boolean> {
    if (this.endedBy) return Promise.resolve(true);
    return new Promise((resolve) => this.waiters.push({ check, deadline: this.now + timeoutMs, resolve }));
  }

  private sleep(ms: number): Promise<void> {
    const until = this.now + ms;
    return this.waitFor((now) => now >= until, ms + 1000).then(() => undefined);
  }

  private finish(by: 'caller-hangup' | 'engine-hangup'): void {
    if (this.endedBy) return;
    this.endedBy = by;
    this.unregister();
    const speaking = this.speaking;
    this.speaking = null;
    speaking?.done();
    for (const w of this.waiters.splice(0)) w.resolve(true);
    if (!this.line.closed) this.line.close('caller hung up');
  }

  private report(): CallerReport {
    const spurts: CallerReport['agentSpurts'] = [];
    for (const t of this.agentAudible) {
      const last = spurts.at(-1);
      if (last && t - last.endMs < SPURT_BREAK_MS) last.endMs = t + FRAME_MS;
      else spurts.push({ startMs: t, endMs: t + FRAME_MS });
    }
    for (const turn of this.turns) {
      const answer = spurts.find((s) => s.startMs > turn.speechEndMs);
      turn.responseLatencyMs = answer ? answer.startMs - turn.speechEndMs : null;
    }
    return {
      startedAt: this.startedAt.toISOString(),
      endedBy: this.endedBy ?? 'caller-hangup',
      turns: this.turns,
      firstAgentAudioMs: spurts[0]?.startMs ?? null,
      agentSpurts: spurts,
      transcript: this.transcript,
      timeouts: this.timeouts,
    };
  }
}
