// Size: one scripted caller: its script runner and the timing it measures share the media clock.
import type { Logger } from '@ai-agent/common';
import { FRAME_MS, FRAME_SAMPLES, MIX_RATE } from '../audio/formats.ts';
import { writeWav } from '../audio/wav.ts';
import { loadAudio, type AudioRef } from '../audio/sources.ts';
import { AUDIO_RMS_THRESHOLD, IDLE_RMS, rms, voicedFrames } from '../audio/level.ts';
import { SPURT_BREAK_MS, agentStopAfter, firstAtOrAfter, gapsOf, spurtsOf, type GapStats } from './analysis.ts';
import { Recorder } from './recorder.ts';
import { DEFAULT_WAIT_TIMEOUT_MS, audioRefsOf, describeRef, type ScriptStep } from './script.ts';

/** How the caller's actions reach the call, whichever protocol carries it. */
export interface CallerLine {
  sendDtmf(digit: string, durationMs: number): void;
  hangup(): void;
}

export interface TranscriptEntry {
  /** Milliseconds since the call started. */
  atMs: number;
  who: 'caller' | 'agent' | 'asterisk';
  text: string;
}

/** One caller utterance, timed by its speech: its leading and trailing silence are not speech. */
export interface TurnTiming {
  audio: string;
  /** When the caller's speech began (ms since call start): the first audible frame sent. */
  onsetMs: number;
  /** When it ended: the last audible frame sent. */
  speechEndMs: number;
  /** End of caller speech → first agent audio after it; null when the agent never answered. */
  responseLatencyMs: number | null;
  /** Agent sound below the audible level heard just before that first audio (a synthesiser's lead-in, say). */
  replyLeadInMs: number | null;
}

/** Speech over the agent; the timings of what the caller said are as for a turn. */
export interface BargeInTiming extends TurnTiming {
  /** Onset → last agent audio before it went quiet; null when the agent never stopped. */
  agentStopMs: number | null;
}

export type CallEnd = 'caller-hangup' | 'engine-hangup' | 'network' | 'error';

export interface CallReport {
  startedAt: string;
  durationMs: number;
  endedBy: CallEnd;
  error?: string;
  turns: TurnTiming[];
  bargeIns: BargeInTiming[];
  gaps: GapStats;
  /** Call start → first agent audio (the greeting). */
  firstAgentAudioMs: number | null;
  agentSpurts: Array<{ startMs: number; endMs: number }>;
  /** Wait steps that timed out. */
  timeouts: string[];
  transcript: TranscriptEntry[];
  /** What the caller heard, 8 kHz mono. */
  recording: Int16Array;
  writeWav(path: string): void;
}

class Hangup extends Error {}

/** Agent audio is heard on the tick it arrives or soon after (the leg's buffer); later is other audio. */
const LEAD_IN_MATCH_MS = 100;

interface Speaking {
  samples: Int16Array;
  pos: number;
  /** Frame indices of the first and last audible frames (the whole utterance when none is). */
  voiced: { first: number; last: number };
  /** Index of the next frame to send. */
  frame: number;
  /** When the first and last audible frames were sent. */
  onsetAt: number;
  endAt: number;
  resolve: () => void;
}

interface Waiter {
  check: (now: number) => boolean;
  deadline: number;
  resolve: (ok: boolean) => void;
}

export interface CallerSessionOptions {
  script: readonly ScriptStep[];
  log: Logger;
  /** Send a steady stream of silence between utterances (Asterisk transmit_silence=yes). Default false. */
  transmitSilence?: boolean;
  /** Hang up when the script ends (default true). */
  hangupAtEnd?: boolean;
}

/**
 * One caller: runs the script on the media clock, produces the caller's frames, records what the caller
 * hears, and measures the agent's timing from the arrival times of the engine's audio.
 */
export class CallerSession {
  line: CallerLine | null = null;
  readonly done: Promise<CallReport>;
  private resolveDone!: (r: CallReport) => void;
  private readonly recorder = new Recorder();
  private readonly silence = new Int16Array(FRAME_SAMPLES);
  private readonly frame = new Int16Array(FRAME_SAMPLES);
  private readonly startWall = new Date();
  private readonly start = performance.now();
  private now = this.start;
  private speaking: Speaking | null = null;
  private waiters: Waiter[] = [];
  private agentAudible: number[] = [];
  private agentFrames: number[] = [];
  private lastAgentAudible = -Infinity;
  /** Sub-audible frames heard since the last silent one; -1 once the sound has become audible. */
  private quietRun = 0;
  private lastHeardSound = -Infinity;
  /** Each start of audible sound heard: when, and the sub-audible sound heard just before it (ms). */
  private readonly leadIns: Array<{ at: number; ms: number }> = [];
  private readonly transcript: TranscriptEntry[] = [];
  private readonly utterances: Array<{ audio: string; end: number; bargeIn: boolean; onset: number }> = [];
  private readonly timeouts: string[] = [];
  private ended: { by: CallEnd; at: number; error?: string } | null = null;
  private readonly audio = new Map<AudioRef, Int16Array>();

  constructor(private readonly opts: CallerSessionOptions) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  /** Loads (and synthesises) every audio the script needs before the call starts. */
  async prepare(): Promise<void> {
    for (const ref of audioRefsOf(this.opts.script)) this.audio.set(ref, await loadAudio(ref));
  }

  /** Starts the script; the call's media must be ticking (pull/hear) from now on. */
  run(): void {
    void this.execute().catch((err: unknown) => {
      if (!(err instanceof Hangup)) this.finish('error', (err as Error).message);
    });
  }

  note(who: TranscriptEntry['who'], text: string): void {
    this.transcript.push({ atMs: Math.round(performance.now() - this.start), who, text });
  }

  /** The caller's frame for this tick (null while silent, unless transmitting silence). */
  pull(now: number): Int16Array | null {
    this.now = now;
    this.serviceWaiters(now);
    const s = this.speaking;
    if (!s || this.ended) return this.opts.transmitSilence && !this.ended ? this.silence : null;
    const index = s.frame++;
    if (index === s.voiced.first) s.onsetAt = now;
    if (index === s.voiced.last) s.endAt = now;
    const n = Math.min(FRAME_SAMPLES, s.samples.length - s.pos);
    this.frame.set(s.samples.subarray(s.pos, s.pos + n));
    if (n < FRAME_SAMPLES) this.frame.fill(0, n);
    s.pos += n;
    if (s.pos >= s.samples.length) {
      this.speaking = null;
      s.resolve();
    }
    return this.frame;
  }

  /** What the caller hears this tick. */
  hear(frame: Int16Array | null): void {
    if (this.ended) return;
    this.recorder.append(frame);
    // Nothing heard for a moment inside sound is a late frame, not silence.
    if (!frame && this.now - this.lastHeardSound < SPURT_BREAK_MS) return;
    const level = frame ? rms(frame) : 0;
    if (level > IDLE_RMS) this.lastHeardSound = this.now;
    if (level >= AUDIO_RMS_THRESHOLD) {
      if (this.quietRun >= 0) this.leadIns.push({ at: this.now, ms: this.quietRun * FRAME_MS });
      this.quietRun = -1;
    } else if (level <= IDLE_RMS) {
      this.quietRun = 0;
    } else if (this.quietRun >= 0) {
      this.quietRun++;
    }
  }

  /** An agent frame arrived on the wire (or, for WebSocket media, was played out). */
  agentFrame(audible: boolean, at: number): void {
    if (this.ended) return;
    this.agentFrames.push(at);
    if (!audible) return;
    this.agentAudible.push(at);
    this.lastAgentAudible = at;
  }

  /** The far end ended the call (engine hangup, socket closed). */
  remoteEnded(by: CallEnd, error?: string): void {
    this.finish(by, error);
  }

  get isEnded(): boolean {
    return this.ended !== null;
  }

  /** The caller hangs up now, wherever the script is (e.g. whoever asked for the call has gone away). */
  hangup(): void {
    if (!this.ended) this.hangupNow();
  }

  private async execute(): Promise<void> {
    this.note('asterisk', 'call started');
    for (const step of this.opts.script) {
      if (this.ended) return;
      await this.perform(step);
    }
    if (this.opts.hangupAtEnd !== false && !this.ended) this.hangupNow();
  }

  private async perform(step: ScriptStep): Promise<void> {
    if ('say' in step) {
      await this.speak(step.say, false);
    } else if ('pause' in step) {
      await this.sleep(step.pause);
    } else if ('dtmf' in step) {
      for (const digit of step.dtmf) {
        const duration = step.durationMs ?? 100;
        this.note('caller', `DTMF ${digit}`);
        this.line?.sendDtmf(digit, duration);
        await this.sleep(duration + (step.gapMs ?? 100));
      }
    } else if ('waitForAgent' in step) {
      const since = this.now;
      await this.waitFor('agent audio', (now) => this.lastAgentAudible >= since && now >= since, step.waitForAgent.timeoutMs);
    } else if ('waitForAgentSilence' in step) {
      const silenceMs = step.waitForAgentSilence.silenceMs ?? 1000;
      const since = this.now;
      const heardSince = () => this.lastAgentAudible >= since - silenceMs;
      await this.waitFor(
        'agent silence',
        (now) => heardSince() && now - this.lastAgentAudible >= silenceMs,
        step.waitForAgentSilence.timeoutMs,
      );
    } else if ('bargeIn' in step) {
      const since = this.now;
      const started = await this.waitFor('agent audio before barge-in', () => this.lastAgentAudible >= since, step.bargeIn.timeoutMs);
      if (started) {
        const onsetDue = firstAtOrAfter(this.agentAudible, since)! + step.bargeIn.afterMs;
        await this.waitFor('barge-in moment', (now) => now >= onsetDue, step.bargeIn.afterMs + 5000);
      }
      await this.speak(step.bargeIn.say, true);
    } else if ('hangup' in step) {
      this.hangupNow();
    }
  }

  private async speak(ref: AudioRef, bargeIn: boolean): Promise<void> {
    const samples = this.audio.get(ref) ?? (await loadAudio(ref));
    this.note('caller', `${bargeIn ? 'barges in with' : 'says'} ${describeRef(ref)} (${(samples.length / MIX_RATE).toFixed(2)} s)`);
    const voiced = voicedFrames(samples) ?? { first: 0, last: Math.ceil(samples.length / FRAME_SAMPLES) - 1 };
    let speaking!: Speaking;
    await new Promise<void>((resolve) => {
      speaking = { samples, pos: 0, voiced, frame: 0, onsetAt: 0, endAt: 0, resolve };
      this.speaking = speaking;
    });
    this.guard();
    this.utterances.push({ audio: describeRef(ref), end: speaking.endAt, bargeIn, onset: speaking.onsetAt });
  }

  private sleep(ms: number): Promise<boolean> {
    const until = this.now + ms;
    return this.waitFor('pause', (now) => now >= until - 1, ms + 60_000);
  }

  private async waitFor(what: string, check: (now: number) => boolean, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<boolean> {
    const ok = await new Promise<boolean>((resolve) => {
      this.waiters.push({ check, deadline: this.now + timeoutMs, resolve });
    });
    this.guard();
    if (!ok) {
      this.timeouts.push(what);
      this.note('caller', `gave up waiting for ${what} after ${timeoutMs} ms`);
    }
    return ok;
  }

  private guard(): void {
    if (this.ended) throw new Hangup();
  }

  private serviceWaiters(now: number): void {
    if (this.waiters.length === 0) return;
    const pending: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.check(now)) w.resolve(true);
      else if (now >= w.deadline) w.resolve(false);
      else pending.push(w);
    }
    this.waiters = pending;
  }

  private hangupNow(): void {
    this.note('caller', 'hangs up');
    this.line?.hangup();
    this.finish('caller-hangup');
  }

  private finish(by: CallEnd, error?: string): void {
    if (this.ended) return;
    this.ended = { by, at: performance.now(), error };
    if (by !== 'caller-hangup') this.note('asterisk', `call ended: ${by}${error ? ` (${error})` : ''}`);
    for (const w of this.waiters) w.resolve(false);
    this.waiters = [];
    const s = this.speaking;
    this.speaking = null;
    s?.resolve();
    this.resolveDone(this.report());
  }

  /** The lead-in heard before the agent audio that arrived at `arrival` (heard at that tick or just after). */
  private leadInAt(arrival: number): number | null {
    const heard = this.leadIns.find((l) => l.at >= arrival);
    return heard && heard.at - arrival <= LEAD_IN_MATCH_MS ? heard.ms : null;
  }

  private report(): CallReport {
    const end = this.ended!;
    const rel = (t: number) => Math.round(t - this.start);
    const times = this.agentAudible;
    const turns: TurnTiming[] = [];
    const bargeIns: BargeInTiming[] = [];
    for (const u of this.utterances) {
      const first = firstAtOrAfter(times, u.end);
      const turn: TurnTiming = {
        audio: u.audio,
        onsetMs: rel(u.onset),
        speechEndMs: rel(u.end),
        responseLatencyMs: first === null ? null : Math.round(first - u.end),
        replyLeadInMs: first === null ? null : this.leadInAt(first),
      };
      if (u.bargeIn) {
        const stop = agentStopAfter(times, u.onset, end.at);
        bargeIns.push({ ...turn, agentStopMs: stop === null ? null : Math.round(stop) });
      } else {
        turns.push(turn);
      }
    }
    const spurts = spurtsOf(times);
    for (const s of spurts) {
      this.transcript.push({ atMs: rel(s.start), who: 'agent', text: `speaks (${((s.end - s.start + FRAME_MS) / 1000).toFixed(2)} s)` });
    }
    this.transcript.sort((a, b) => a.atMs - b.atMs);
    const recording = this.recorder.samples();
    return {
      startedAt: this.startWall.toISOString(),
      durationMs: rel(end.at),
      endedBy: end.by,
      error: end.error,
      turns,
      bargeIns,
      gaps: gapsOf(this.agentFrames, spurts),
      firstAgentAudioMs: times.length > 0 ? rel(times[0]) : null,
      agentSpurts: spurts.map((s) => ({ startMs: rel(s.start), endMs: rel(s.end + FRAME_MS) })),
      timeouts: [...this.timeouts],
      transcript: this.transcript,
      recording,
      writeWav: (path: string) => writeWav(path, recording, MIX_RATE),
    };
  }
}
