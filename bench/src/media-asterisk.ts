// The Asterisk side of the media benchmark, run as a child process of `media.ts` so the engine process's
// CPU time is the engine's alone. Like ExternalMedia RTP on a real Asterisk: one UDP socket per channel,
// a 20 ms µ-law packet per call on its own absolute schedule, the calls' phases spread over the 20 ms
// period (each channel has its own timing, so a real server's packets do not arrive as one burst). It also
// receives the engine's replies and measures their spacing on the wire.
//
// IPC (parent → child): {type:'calls', ports} sets the engine ports to play to (opens/closes sockets);
// {type:'measure'} starts a measurement window; {type:'report'} ends it and answers with a Report;
// {type:'stop'} exits. The child answers 'calls' with {type:'ready'}.
import { createSocket, type Socket } from 'node:dgram';
import { encodeUlaw } from '@ai-agent/common/audio';
import { writeRtpHeader } from '../../engine/src/transport/rtp/rtp-packet.ts';
import { ipLiteralLookup } from '../../engine/src/transport/rtp/literal-lookup.ts';

export interface SimReport {
  type: 'report';
  /** Replies received in the window. */
  received: number;
  /** p99 of |interval − 20 ms| between consecutive replies of one call, ms. */
  wireP99DeviationMs: number;
  /** This process's CPU over the window, % of one core (to show the load generator was not saturated). */
  cpuPercent: number;
}

const FRAME_MS = 20;
/** Spacing histogram: 0.05 ms bins up to 50 ms. */
const BIN_MS = 0.05;
const BINS = 1000;

interface Call {
  port: number;
  socket: Socket;
  packet: Buffer;
  seq: number;
  ts: number;
  ssrc: number;
  lastArrival: number;
}

const payload = new Uint8Array(160);
// A 400 Hz tone at speech level: every frame is voiced, so the engine's echo stand-in writes every one back.
encodeUlaw(Int16Array.from({ length: 160 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * i) / 20))), payload);

const calls = new Map<number, Call>();
/** Calls by send slot (ms within the 20 ms period). */
const slots: Call[][] = Array.from({ length: FRAME_MS }, () => []);
const histogram = new Uint32Array(BINS);
let measuring = false;
let received = 0;
let opened = 0;
let cpuAtStart = process.cpuUsage();
let wallAtStart = performance.now();

function openCall(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4', lookup: ipLiteralLookup });
    const packet = Buffer.alloc(12 + payload.length);
    packet.set(payload, 12);
    const call: Call = { port, socket, packet, seq: opened * 7919, ts: 160, ssrc: 0x10000 + opened, lastArrival: 0 };
    socket.on('message', () => {
      const now = performance.now();
      if (measuring && call.lastArrival > 0) {
        const bin = Math.min(BINS - 1, Math.round(Math.abs(now - call.lastArrival - FRAME_MS) / BIN_MS));
        histogram[bin]++;
        received++;
      }
      call.lastArrival = now;
    });
    socket.bind(0, '127.0.0.1', () => {
      calls.set(port, call);
      // Golden-ratio phases spread any number of calls evenly over the period.
      slots[Math.floor(((opened++ * 0.6180339887) % 1) * FRAME_MS)].push(call);
      resolve();
    });
  });
}

function closeCall(call: Call): void {
  calls.delete(call.port);
  for (const slot of slots) {
    const i = slot.indexOf(call);
    if (i >= 0) slot.splice(i, 1);
  }
  call.socket.close();
}

function send(call: Call): void {
  writeRtpHeader(call.packet, 0, call.seq, call.ts, call.ssrc, false);
  call.seq = (call.seq + 1) & 0xffff;
  call.ts = (call.ts + 160) >>> 0;
  call.socket.send(call.packet, call.port, '127.0.0.1');
}

// One timeline for all calls: every wake sends the slots whose time has come (absolute, so no drift).
const origin = performance.now();
let nextSlot = 0;
function pump(): void {
  const due = Math.floor(performance.now() - origin);
  for (; nextSlot <= due; nextSlot++) for (const call of slots[nextSlot % FRAME_MS]) send(call);
  setTimeout(pump, Math.max(0, origin + nextSlot - performance.now()));
}
pump();

function p99(): number {
  let total = 0;
  for (const n of histogram) total += n;
  let seen = 0;
  for (let i = 0; i < BINS; i++) {
    seen += histogram[i];
    if (seen >= total * 0.99) return i * BIN_MS;
  }
  return 0;
}

process.on('message', (raw) => {
  const msg = raw as { type: string; ports?: number[] };
  if (msg.type === 'calls') {
    const wanted = new Set(msg.ports);
    for (const call of [...calls.values()]) if (!wanted.has(call.port)) closeCall(call);
    void Promise.all([...wanted].filter((p) => !calls.has(p)).map(openCall)).then(() => process.send!({ type: 'ready' }));
  } else if (msg.type === 'measure') {
    histogram.fill(0);
    received = 0;
    measuring = true;
    cpuAtStart = process.cpuUsage();
    wallAtStart = performance.now();
  } else if (msg.type === 'report') {
    measuring = false;
    const cpu = process.cpuUsage(cpuAtStart);
    const report: SimReport = {
      type: 'report',
      received,
      wireP99DeviationMs: p99(),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - wallAtStart)) * 100,
    };
    process.send!(report);
  } else if (msg.type === 'stop') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
