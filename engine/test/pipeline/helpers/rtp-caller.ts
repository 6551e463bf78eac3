// Plays Asterisk's side of an ExternalMedia RTP channel (PCMU, 20 ms) against the engine's RTP stream:
// sends the caller's audio in real time (silence between utterances, like transmit_silence), RFC 4733
// DTMF, and records when audible agent audio arrives. Optionally the line echoes the agent's audio back
// (a 2-wire hybrid: attenuated, delayed) under the caller's voice.
import { createSocket, type Socket } from 'node:dgram';
import { decodeUlaw, encodeUlaw } from '@ai-agent/common/audio';

const FRAME = 160; // 20 ms at 8 kHz
const DTMF_EVENTS = '0123456789*#ABCD';
/** Mean absolute amplitude above which a received frame counts as agent audio. */
const AUDIBLE = 300;

export interface LineEcho {
  /** Echo return loss: how much quieter the echo is than the agent's audio. */
  lossDb: number;
  delayMs: number;
}

export class RtpCaller {
  /** Set to make the line echo the agent's audio back (from the next frame on). */
  echo: LineEcho | null = null;
  private readonly echoQueue: Array<{ due: number; samples: Int16Array }> = [];
  /** Arrival times (performance.now) of audible agent frames. */
  readonly audibleAt: number[] = [];
  /** Arrival time of every agent frame, audible or not. */
  framesReceived = 0;
  private socket!: Socket;
  private timer: NodeJS.Timeout | null = null;
  private seq = 1000;
  private ts = 160;
  private readonly ssrc = 0x1234567;
  private queue: Int16Array[] = [];
  private current: { samples: Int16Array; pos: number; done: () => void } | null = null;
  private readonly frame = new Int16Array(FRAME);
  private readonly payload = new Uint8Array(FRAME);
  private readonly decoded = new Int16Array(FRAME);
  private pendingDtmf: string[] = [];
  private origin = 0;
  private ticks = 0;
  /** When the last frame of the last utterance was sent. */
  lastSpeechEndAt = 0;
  speechStartAt = 0;
  /** When the first audible frame of the last utterance was sent. */
  speechOnsetAt = 0;

  async bind(): Promise<number> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg) => this.onMessage(msg));
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return this.socket.address().port;
  }

  /** Starts sending to the engine's port every 20 ms. */
  start(enginePort: number): void {
    this.origin = performance.now();
    const tick = (): void => {
      this.sendFrame(enginePort);
      this.ticks++;
      // Scheduled against the start time, so the pace does not drift with timer lateness.
      const due = this.origin + this.ticks * 20;
      this.timer = setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  }

  /** Queues speech (8 kHz); resolves when its last frame has been sent. */
  say(samples8k: Int16Array): Promise<void> {
    return new Promise((resolve) => {
      this.queue.push(samples8k);
      this.resolvers.push(resolve);
    });
  }

  private resolvers: Array<() => void> = [];

  dtmf(digit: string): void {
    this.pendingDtmf.push(digit);
  }

  /** Resolves once audible agent audio has arrived after `since` (performance.now); false on timeout. */
  async waitForAgentAudio(since: number, timeoutMs = 10_000): Promise<number | null> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const t = this.audibleAt.find((x) => x >= since);
      if (t !== undefined) return t;
      await sleep(10);
    }
    return null;
  }

  /** Resolves once the agent has been quiet for `quietMs` after audio (after `since`). */
  async waitForAgentSilence(since: number, quietMs = 600, timeoutMs = 20_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const last = this.audibleAt[this.audibleAt.length - 1] ?? 0;
      if (last >= since && performance.now() - last >= quietMs) return true;
      await sleep(20);
    }
    return false;
  }

  /**
   * Milliseconds from `onset` to the last agent frame of the audio that was playing then (frames less than
   * 100 ms apart belong to it); 0 when nothing was playing at `onset`.
   */
  agentStopAfter(onset: number): number {
    let last = this.audibleAt.filter((t) => t < onset).pop() ?? -Infinity;
    for (const t of this.audibleAt) {
      if (t < onset) continue;
      if (t - last > 100) break;
      last = t;
    }
    return Math.max(0, last - onset);
  }

  /** Milliseconds of audible agent audio received in [from, to). */
  audibleMs(from: number, to = Infinity): number {
    return this.audibleAt.filter((t) => t >= from && t < to).length * 20;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
  }

  private sendFrame(port: number): void {
    const digit = this.pendingDtmf.shift();
    if (digit !== undefined) {
      this.sendDtmf(port, digit);
      return;
    }
    if (!this.current && this.queue.length > 0) {
      const samples = this.queue.shift()!;
      const done = this.resolvers.shift()!;
      this.current = { samples, pos: 0, done };
      this.speechStartAt = performance.now();
      this.speechOnsetAt = 0;
    }
    const cur = this.current;
    if (cur) {
      const n = Math.min(FRAME, cur.samples.length - cur.pos);
      this.frame.set(cur.samples.subarray(cur.pos, cur.pos + n));
      this.frame.fill(0, n);
      cur.pos += n;
      if (this.speechOnsetAt === 0 && meanAbs(this.frame) >= AUDIBLE) this.speechOnsetAt = performance.now();
      if (cur.pos >= cur.samples.length) {
        this.current = null;
        this.lastSpeechEndAt = performance.now();
        cur.done();
      }
    } else {
      this.frame.fill(0);
    }
    this.mixEcho();
    encodeUlaw(this.frame, this.payload);
    this.send(port, 0, this.payload, false);
  }

  /** Adds the echo due now (one frame per tick; older backlog is dropped, as a line would not queue it). */
  private mixEcho(): void {
    const now = performance.now();
    while (this.echoQueue.length > 1 && this.echoQueue[1].due <= now) this.echoQueue.shift();
    if (!this.echoQueue.length || this.echoQueue[0].due > now) return;
    const echo = this.echoQueue.shift()!.samples;
    for (let i = 0; i < FRAME; i++) this.frame[i] = Math.max(-32768, Math.min(32767, this.frame[i] + echo[i]));
  }

  private sendDtmf(port: number, digit: string): void {
    const event = DTMF_EVENTS.indexOf(digit);
    // One end packet (repeated three times, as RFC 4733 senders do), 100 ms long.
    const payload = new Uint8Array([event, 0x80 | 10, 0x03, 0x20]);
    for (let i = 0; i < 3; i++) this.send(port, 101, payload, false, false);
    this.ts += FRAME;
  }

  private send(port: number, pt: number, payload: Uint8Array, marker: boolean, advance = true): void {
    const buf = Buffer.alloc(12 + payload.length);
    buf[0] = 0x80;
    buf[1] = (marker ? 0x80 : 0) | pt;
    buf.writeUInt16BE(this.seq, 2);
    buf.writeUInt32BE(this.ts >>> 0, 4);
    buf.writeUInt32BE(this.ssrc, 8);
    buf.set(payload, 12);
    this.seq = (this.seq + 1) & 0xffff;
    if (advance) this.ts += FRAME;
    this.socket.send(buf, port, '127.0.0.1');
  }

  private onMessage(msg: Buffer): void {
    if (msg.length < 12 + FRAME || (msg[1] & 0x7f) !== 0) return;
    this.framesReceived++;
    decodeUlaw(msg.subarray(12, 12 + FRAME), this.decoded);
    const now = performance.now();
    if (meanAbs(this.decoded) >= AUDIBLE) this.audibleAt.push(now);
    if (this.echo) {
      const gain = 10 ** (-this.echo.lossDb / 20);
      this.echoQueue.push({ due: now + this.echo.delayMs, samples: this.decoded.map((v) => Math.round(v * gain)) });
    }
  }
}

function meanAbs(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += Math.abs(frame[i]);
  return sum / frame.length;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
