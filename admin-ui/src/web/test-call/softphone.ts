// The browser softphone: the microphone (echo cancellation on) captured at 16 kHz by an AudioWorklet and sent
// as 20 ms PCM16 frames over the admin UI's /api/test-call WebSocket; the agent's frames played back with
// WebAudio. The socket speaks Asterisk chan_websocket's media protocol, the page playing Asterisk's part: on
// FLUSH_MEDIA (the caller barged in) every frame still queued is dropped at once, as a phone would; MARK_MEDIA
// is answered with MEDIA_MARK_PROCESSED when the audio before it has actually played, so the engine knows what
// was heard. JSON messages with a `type` carry the call's state, transcript turns and its end.
import type { CallEvent, Turn } from '../types.ts';

const RATE = 16000;
const PROTOCOL = 'ai-agent.test-call';
/** Playback starts this far ahead of "now", so frames arriving a little late still play back to back. */
const LEAD_S = 0.08;
/** A received frame louder than this (mean absolute sample) is agent speech, not silence or comfort noise. */
const SPEECH_LEVEL = 200;
/** The page's figures are refreshed this often. */
const STATS_MS = 100;
/** Output levels kept (s of audio clock), for the look back after a flush. */
const LEVEL_HISTORY_S = 3;
/** Output RMS (of -1..1 samples) above which the page is audibly playing. */
const PLAYING_RMS = 0.01;

export interface SoftphoneStats {
  /** Agent audio received / actually measured at the output while playing (ms). */
  agentReceivedMs: number;
  agentPlayedMs: number;
  /** Output level now (RMS of -1..1) and whether the page is audibly playing. */
  outputLevel: number;
  playing: boolean;
  /** Microphone frames sent and the current input level (mean absolute sample). */
  framesSent: number;
  inputLevel: number;
  flushes: number;
  /** Agent audio dropped unplayed by the flushes (ms), and whether the last one cut audio that was playing. */
  droppedMs: number;
  lastFlushCutSpeech: boolean;
  /** Output level measured just after the last flush, while its dropped audio would still play (0: it stopped). */
  levelAfterFlush: number | null;
}

export type SoftphoneEvent =
  | { type: 'status'; status: 'connecting' | 'connected' | 'ended'; detail?: string }
  | { type: 'state'; state: string }
  | { type: 'call'; id: string; context: string }
  | { type: 'turn'; turn: Turn }
  | { type: 'event'; event: CallEvent | { kind: string; at: string } }
  | { type: 'stats'; stats: SoftphoneStats };

function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === 'csrf') return decodeURIComponent(value.join('='));
  }
  return '';
}

function meanAbs(samples: Int16Array): number {
  let sum = 0;
  for (const s of samples) sum += Math.abs(s);
  return samples.length ? sum / samples.length : 0;
}

interface Scheduled {
  source: AudioBufferSourceNode;
  start: number;
  end: number;
  speech: boolean;
}

export class Softphone {
  private ws: WebSocket | null = null;
  private ctx: AudioContext | null = null;
  private mic: MediaStream | null = null;
  /** [audio-clock time, rms] of each render quantum that played, oldest first. */
  private levels: Array<[number, number]> = [];
  private output: GainNode | null = null;
  private playHead = 0;
  private scheduled: Scheduled[] = [];
  private marks = new Map<string, number>();
  private meterTimer: number | undefined;
  private ended = false;
  private readonly stats: SoftphoneStats = {
    agentReceivedMs: 0, agentPlayedMs: 0, outputLevel: 0, playing: false, framesSent: 0, inputLevel: 0,
    flushes: 0, droppedMs: 0, lastFlushCutSpeech: false, levelAfterFlush: null,
  };

  constructor(private readonly onEvent: (event: SoftphoneEvent) => void) {}

  /** Must run from a user gesture (the Start button): browsers only let a page start audio then. */
  async start(context: string): Promise<void> {
    this.onEvent({ type: 'status', status: 'connecting' });
    const ctx = new AudioContext({ sampleRate: RATE, latencyHint: 'interactive' });
    this.ctx = ctx;
    await ctx.resume();
    // Echo cancellation keeps the agent's own voice (from speakers) from barging in on itself. Automatic gain
    // control stays off: it raises the gain during silence and clips the caller's first words, which the
    // recogniser then mishears (measured: a prompt at -25 dB RMS came out at -17 dB with peaks at full scale).
    this.mic = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: false, channelCount: 1 },
    });
    await ctx.audioWorklet.addModule('/capture-worklet.js');
    if (this.ended) return this.release();

    this.output = ctx.createGain();
    this.output.connect(ctx.destination);
    const meter = new AudioWorkletNode(ctx, 'meter', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
    const muted = ctx.createGain();
    muted.gain.value = 0;
    this.output.connect(meter).connect(muted).connect(ctx.destination);
    meter.port.onmessage = (message: MessageEvent<number[]>) => this.measured(message.data);

    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/api/test-call?context=${encodeURIComponent(context)}`, [PROTOCOL, `csrf.${csrfToken()}`]);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.onEvent({ type: 'status', status: 'connected' });
      this.startCapture(ctx);
    };
    ws.onmessage = (message) => {
      if (message.data instanceof ArrayBuffer) this.play(new Int16Array(message.data));
      else this.handleText(String(message.data));
    };
    ws.onclose = (close) => {
      // A refused upgrade shows the page no status: the server's log and audit have the reason.
      if (!opened) return this.finish('the test call could not start: the engine is not reachable or refused it, or your role lacks calls:test');
      this.finish(close.code === 4401 ? 'your session expired' : close.code === 1000 || close.code === 1005 ? undefined : `connection closed (${close.code})`);
    };
    ws.onerror = () => undefined; // the close that follows says it
    this.meterTimer = window.setInterval(() => this.onEvent({ type: 'stats', stats: { ...this.stats } }), STATS_MS);
  }

  hangup(): void {
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
    else this.finish();
  }

  /** Sends a keypad digit, as chan_websocket reports one (DTMF_END). */
  dtmf(digit: string): void {
    this.sendJson({ event: 'DTMF_END', digit });
  }

  private startCapture(ctx: AudioContext): void {
    if (!this.mic) return;
    const source = ctx.createMediaStreamSource(this.mic);
    const capture = new AudioWorkletNode(ctx, 'capture', { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1, channelCountMode: 'explicit' });
    // Connected through a muted gain so the graph pulls the worklet; the caller must not hear themselves.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    source.connect(capture).connect(mute).connect(ctx.destination);
    capture.port.onmessage = (message: MessageEvent<ArrayBuffer>) => {
      if (this.ws?.readyState !== WebSocket.OPEN) return;
      this.ws.send(message.data);
      this.stats.framesSent++;
      this.stats.inputLevel = meanAbs(new Int16Array(message.data));
    };
  }

  private play(samples: Int16Array): void {
    const ctx = this.ctx;
    if (!ctx || !this.output || samples.length === 0) return;
    const buffer = ctx.createBuffer(1, samples.length, RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples.length; i++) channel[i] = samples[i]! / 0x8000;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.output);
    const start = Math.max(this.playHead, ctx.currentTime + LEAD_S);
    const end = start + samples.length / RATE;
    source.start(start);
    this.playHead = end;
    const speech = meanAbs(samples) > SPEECH_LEVEL;
    if (speech) this.stats.agentReceivedMs += (samples.length / RATE) * 1000;
    const entry: Scheduled = { source, start, end, speech };
    this.scheduled.push(entry);
    source.onended = () => {
      const i = this.scheduled.indexOf(entry);
      if (i >= 0) this.scheduled.splice(i, 1);
    };
  }

  /** Output levels from the meter worklet: what was heard, and when. */
  private measured(batch: number[]): void {
    const quantumMs = (batch.length > 2 ? batch[2]! - batch[0]! : 128 / RATE) * 1000;
    for (let i = 0; i + 1 < batch.length; i += 2) {
      const rms = batch[i + 1]!;
      this.levels.push([batch[i]!, rms]);
      if (rms > PLAYING_RMS) this.stats.agentPlayedMs += quantumMs;
    }
    const last = this.levels.at(-1);
    while (last && this.levels.length > 0 && this.levels[0]![0] < last[0] - LEVEL_HISTORY_S) this.levels.shift();
    this.stats.outputLevel = last?.[1] ?? 0;
    this.stats.playing = this.stats.outputLevel > PLAYING_RMS;
  }

  /** Loudest output between `from` and `to` (audio-clock seconds). */
  private peak(from: number, to: number): number {
    let max = 0;
    for (const [t, rms] of this.levels) if (t >= from && t <= to) max = Math.max(max, rms);
    return max;
  }

  /** Barge-in: the engine stopped the agent; everything queued here goes too, at once. */
  private flush(): void {
    const now = this.ctx?.currentTime ?? 0;
    let dropped = 0;
    let cutSpeech = false;
    for (const s of this.scheduled) {
      dropped += s.end - Math.max(s.start, now);
      if (s.speech) cutSpeech = true;
      s.source.onended = null;
      s.source.stop();
      s.source.disconnect();
    }
    this.scheduled = [];
    this.playHead = now;
    for (const timer of this.marks.values()) window.clearTimeout(timer);
    this.marks.clear();
    this.stats.flushes++;
    this.stats.droppedMs += Math.max(0, dropped) * 1000;
    this.stats.lastFlushCutSpeech = cutSpeech;
    this.stats.levelAfterFlush = null;
    const flushes = this.stats.flushes;
    // What played while the dropped audio would have (it was scheduled up to LEAD_S ahead), read once the
    // meter has reported that stretch: the first quantum after the flush may still hold its last samples.
    window.setTimeout(() => {
      if (this.stats.flushes === flushes) this.stats.levelAfterFlush = this.peak(now + 0.02, now + LEAD_S);
    }, 300);
  }

  /** Reports the mark once the audio queued before it has played (or at once if nothing is queued). */
  private mark(id: string): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const delayMs = Math.max(0, (this.playHead - ctx.currentTime) * 1000);
    const timer = window.setTimeout(() => {
      this.marks.delete(id);
      this.sendJson({ event: 'MEDIA_MARK_PROCESSED', correlation_id: id });
    }, delayMs);
    this.marks.set(id, timer);
  }

  private handleText(text: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (message.command === 'FLUSH_MEDIA') return this.flush();
    if (message.command === 'MARK_MEDIA' && typeof message.correlation_id === 'string') return this.mark(message.correlation_id);
    switch (message.type) {
      case 'call':
        return this.onEvent({ type: 'call', id: String(message.id), context: String(message.context) });
      case 'state':
        return this.onEvent({ type: 'state', state: String(message.state) });
      case 'turn':
        return this.onEvent({ type: 'turn', turn: message.turn as Turn });
      case 'event':
        return this.onEvent({ type: 'event', event: message.event as CallEvent });
      case 'ended':
        return this.finish(`the call ended: ${String(message.outcome)}`);
    }
  }

  private sendJson(message: Record<string, string>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private finish(detail?: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onEvent({ type: 'status', status: 'ended', detail });
    this.release();
  }

  private release(): void {
    window.clearInterval(this.meterTimer);
    this.onEvent({ type: 'stats', stats: { ...this.stats } });
    for (const timer of this.marks.values()) window.clearTimeout(timer);
    this.marks.clear();
    this.mic?.getTracks().forEach((t) => t.stop());
    void this.ctx?.close();
    this.ctx = null;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}
