// Media plane capacity: N concurrent ExternalMedia RTP calls (µ-law 8 kHz in and out; decode → resample to
// 16 kHz → jitter buffer → pipeline frame → echoed back → resample to 8 kHz → encode → paced send), raising N
// until the shared pacer's p99 lateness exceeds 2 ms. The simulated Asterisk (one UDP socket sending every
// call's packet each 20 ms) runs in this same process, so the figures are pessimistic.
import { createSocket } from 'node:dgram';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@ai-agent/common';
import { encodeUlaw } from '../../engine/src/audio/g711.ts';
import { Pacer } from '../../engine/src/audio/pacer.ts';
import { writeRtpHeader } from '../../engine/src/transport/rtp/rtp-packet.ts';
import { RtpMediaServer } from '../../engine/src/transport/rtp/rtp-server.ts';
import type { RtpMediaStream } from '../../engine/src/transport/rtp/rtp-stream.ts';

type Figures = Record<string, { value: number; unit: string }>;

const STEP_SECONDS = Number(process.env.MEDIA_BENCH_STEP_SECONDS ?? 4);
const MAX_CALLS = Number(process.env.MEDIA_BENCH_MAX_CALLS ?? 1200);
const P99_LIMIT_MS = 2;

interface StepResult {
  calls: number;
  pacerP99: number;
  cpuPercent: number;
  rss: number;
  loopLagP99: number;
}

function percentile(values: Float64Array | number[], p: number): number {
  const s = Array.from(values).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function runStep(calls: number): Promise<StepResult> {
  const log = createLogger({ service: 'bench', level: 'silent' });
  const pacer = new Pacer();
  const server = new RtpMediaServer({ log, host: '127.0.0.1', portMin: 0, portMax: 0, pacer });
  const streams: RtpMediaStream[] = [];
  for (let i = 0; i < calls; i++) {
    const s = await server.allocate(`bench-${i}`, 'ulaw');
    // The pipeline stand-in: every caller frame is written straight back (worst case: both directions busy).
    s.on('frame', (f) => {
      if (f.kind !== 'silence') s.write(f.samples, 16000);
    });
    streams.push(s);
  }
  const sender = createSocket('udp4');
  sender.on('message', () => {});
  await new Promise<void>((r) => sender.bind(0, '127.0.0.1', r));
  // One 20 ms tone packet per call, µ-law, sent on its own absolute schedule like Asterisk.
  const payload = new Uint8Array(160);
  encodeUlaw(Int16Array.from({ length: 160 }, (_, i) => Math.round(6000 * Math.sin((2 * Math.PI * i) / 20))), payload);
  const packets = streams.map(() => {
    const b = Buffer.alloc(172);
    b.set(payload, 12);
    return b;
  });
  let seq = 0;
  const t0 = performance.now();
  let sent = 0;
  let stop = false;
  const sendLoop = (): void => {
    if (stop) return;
    for (let i = 0; i < streams.length; i++) {
      writeRtpHeader(packets[i], 0, (seq + i) & 0xffff, (seq * 160) >>> 0, 0x1000 + i, false);
      sender.send(packets[i], streams[i].port, '127.0.0.1');
    }
    seq = (seq + 1) & 0xffff;
    sent++;
    setTimeout(sendLoop, Math.max(0, t0 + sent * 20 - performance.now()));
  };
  sendLoop();
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const ticksBefore = pacer.stats.ticks;
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await new Promise((r) => setTimeout(r, STEP_SECONDS * 1000));
  const cpu = process.cpuUsage(cpuBefore);
  const wall = performance.now() - wallBefore;
  lag.disable();
  const measured = Math.min(pacer.stats.ticks - ticksBefore, pacer.lateness.length);
  const lateness: number[] = [];
  for (let i = 0; i < measured; i++) lateness.push(pacer.lateness[(pacer.stats.ticks - 1 - i) & (pacer.lateness.length - 1)]);
  const rss = process.memoryUsage().rss;
  stop = true;
  server.close();
  sender.close();
  return {
    calls,
    pacerP99: percentile(lateness, 99),
    cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
    rss,
    loopLagP99: lag.percentile(99) / 1e6,
  };
}

export async function runMediaBench(): Promise<Record<string, { value: number; unit: string }>> {
  const baseline = process.memoryUsage().rss;
  let best: StepResult | null = null;
  for (let calls = 50; calls <= MAX_CALLS; calls += calls < 200 ? 50 : 100) {
    const r = await runStep(calls);
    console.log(`  ${calls} calls: pacer p99 ${r.pacerP99.toFixed(2)} ms, cpu ${r.cpuPercent.toFixed(0)} %, loop lag p99 ${r.loopLagP99.toFixed(2)} ms`);
    if (r.pacerP99 > P99_LIMIT_MS) break;
    best = r;
  }
  const figures: Figures = {};
  if (best) {
    // One Node process uses one core for this work: calls at the limit in one process are calls per core.
    figures['media calls per core'] = { value: best.calls, unit: 'calls' };
    figures['media cpu per call'] = { value: Number((best.cpuPercent / best.calls).toFixed(3)), unit: '%' };
    figures['media rss per call'] = { value: Number(((best.rss - baseline) / best.calls / 1024).toFixed(1)), unit: 'KiB' };
    figures['media event loop lag p99'] = { value: Number(best.loopLagP99.toFixed(2)), unit: 'ms' };
    figures['media pacer p99 lateness'] = { value: Number(best.pacerP99.toFixed(2)), unit: 'ms' };
  } else {
    figures['media calls per core'] = { value: 0, unit: 'calls' };
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runMediaBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${f.value} ${f.unit}`);
}
