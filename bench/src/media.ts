// Media plane capacity: N concurrent ExternalMedia RTP calls, µ-law 8 kHz both ways, every caller frame
// going the whole way (decode → jitter buffer → resample to 16 kHz → pipeline frame → written back →
// resample to 8 kHz → encode → paced send). The simulated Asterisk runs in a child process
// (`media-asterisk.ts`), so the CPU and memory measured here are the engine's alone.
//
// N rises until the shared pacer's p99 lateness (how late a tick starts after its due time) exceeds 2 ms,
// then is refined by bisection (capacity-search.ts). Figures, all at the highest passing N:
// - max calls: the highest N whose pacer p99 lateness ≤ 2 ms, in this one engine process;
// - calls per core: max calls ÷ engine cores used (engine process CPU time ÷ wall time, all threads,
//   user + system), i.e. how many calls one fully used core carries at this cost per call;
// - cpu per call: engine CPU in % of one core ÷ N; rss per call: RSS growth from before the first call ÷ N;
// - event loop lag p99 (includes the pacer's deliberate ≤ 1 ms busy-wait before each tick);
// - pacer p99 lateness; wire interval p99 deviation: |spacing − 20 ms| of each call's packets as the
//   simulated Asterisk receives them, measured in its own process.
import { fork, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@ai-agent/common';
import { nodeEntry } from '@ai-agent/common/testing';
import { Pacer } from '../../engine/src/audio/pacer.ts';
import { RtpMediaServer } from '../../engine/src/transport/rtp/rtp-server.ts';
import type { RtpMediaStream } from '../../engine/src/transport/rtp/rtp-stream.ts';
import { searchCapacity } from './capacity-search.ts';
import type { SimReport } from './media-asterisk.ts';

type Figures = Record<string, { value: number; unit: string }>;

const STEP_SECONDS = Number(process.env.MEDIA_BENCH_STEP_SECONDS ?? 5);
const WARMUP_SECONDS = 1;
const MAX_CALLS = Number(process.env.MEDIA_BENCH_MAX_CALLS ?? 2000);
/** Stop refining when the bracket between passing and failing N is this narrow. */
const RESOLUTION = 25;
const P99_LIMIT_MS = 2;

interface StepResult {
  calls: number;
  pacerP99: number;
  cpuPercent: number;
  rss: number;
  loopLagP99: number;
  wireP99: number;
  simCpuPercent: number;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The engine under test plus its simulated Asterisk, resized between steps. */
class Rig {
  private readonly log = createLogger({ service: 'bench', level: 'silent' });
  readonly pacer = new Pacer();
  private readonly server = new RtpMediaServer({ log: this.log, host: '127.0.0.1', portMin: 0, portMax: 0, pacer: this.pacer });
  private readonly streams: RtpMediaStream[] = [];
  private readonly sim: ChildProcess;
  private waiting: ((msg: { type: string }) => void) | null = null;

  constructor() {
    const { module, execArgv } = nodeEntry(fileURLToPath(new URL('./media-asterisk.ts', import.meta.url)));
    this.sim = fork(module, [], { execArgv, stdio: 'inherit' });
    this.sim.on('message', (msg) => this.waiting?.(msg as { type: string }));
  }

  private request<T>(msg: object): Promise<T> {
    return new Promise((resolve) => {
      this.waiting = (reply) => {
        this.waiting = null;
        resolve(reply as T);
      };
      this.sim.send(msg);
    });
  }

  async resize(calls: number): Promise<void> {
    while (this.streams.length > calls) this.streams.pop()!.close();
    while (this.streams.length < calls) {
      const s = await this.server.allocate(`bench-${this.streams.length}`, 'ulaw');
      // The pipeline stand-in: every caller frame is written straight back (both directions busy).
      s.on('frame', (f) => {
        if (f.kind !== 'silence') s.write(f.samples, 16000);
      });
      this.streams.push(s);
    }
    await this.request({ type: 'calls', ports: this.streams.map((s) => s.port) });
  }

  async measure(): Promise<StepResult> {
    await sleep(WARMUP_SECONDS * 1000);
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    this.sim.send({ type: 'measure' });
    const ticksBefore = this.pacer.stats.ticks;
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await sleep(STEP_SECONDS * 1000);
    const cpu = process.cpuUsage(cpuBefore);
    const wall = performance.now() - wallBefore;
    lag.disable();
    const ring = this.pacer.lateness;
    const ticks = this.pacer.stats.ticks;
    const measured = Math.min(ticks - ticksBefore, ring.length);
    const lateness: number[] = [];
    for (let i = 0; i < measured; i++) lateness.push(ring[(ticks - 1 - i) & (ring.length - 1)]);
    const sim = await this.request<SimReport>({ type: 'report' });
    return {
      calls: this.streams.length,
      pacerP99: percentile(lateness, 99),
      cpuPercent: ((cpu.user + cpu.system) / 1000 / wall) * 100,
      rss: process.memoryUsage().rss,
      loopLagP99: lag.percentile(99) / 1e6,
      wireP99: sim.wireP99DeviationMs,
      simCpuPercent: sim.cpuPercent,
    };
  }

  close(): void {
    this.server.close();
    this.sim.send({ type: 'stop' });
  }
}

export async function runMediaBench(): Promise<Figures> {
  const baseline = process.memoryUsage().rss;
  const rig = new Rig();
  let best: StepResult | null;
  try {
    ({ best } = await searchCapacity<StepResult>({
      first: 50,
      next: (calls) => (calls < 100 ? 100 : calls < 400 ? calls + 100 : calls + 200),
      max: MAX_CALLS,
      resolution: RESOLUTION,
      resize: (calls) => rig.resize(calls),
      measure: async () => {
        const r = await rig.measure();
        console.log(
          `  ${r.calls} calls: pacer p99 ${r.pacerP99.toFixed(2)} ms, engine cpu ${r.cpuPercent.toFixed(0)} %, ` +
            `loop lag p99 ${r.loopLagP99.toFixed(2)} ms, wire p99 dev ${r.wireP99.toFixed(2)} ms, asterisk sim cpu ${r.simCpuPercent.toFixed(0)} %`,
        );
        return r;
      },
      passes: (r) => r.pacerP99 <= P99_LIMIT_MS,
    }));
  } finally {
    rig.close();
  }
  if (!best) return { 'media max calls (pacer p99 ≤ 2 ms)': { value: 0, unit: 'calls' } };
  const cores = best.cpuPercent / 100;
  return {
    'media max calls (pacer p99 ≤ 2 ms)': { value: best.calls, unit: 'calls' },
    'media engine cpu at max calls': { value: Number(best.cpuPercent.toFixed(1)), unit: '% of a core' },
    'media calls per core (max calls ÷ engine cores used)': { value: Math.round(best.calls / cores), unit: 'calls' },
    'media cpu per call': { value: Number((best.cpuPercent / best.calls).toFixed(3)), unit: '% of a core' },
    'media rss per call': { value: Number(((best.rss - baseline) / best.calls / 1024).toFixed(1)), unit: 'KiB' },
    'media event loop lag p99': { value: Number(best.loopLagP99.toFixed(2)), unit: 'ms' },
    'media pacer p99 lateness': { value: Number(best.pacerP99.toFixed(2)), unit: 'ms' },
    'media wire interval p99 deviation': { value: Number(best.wireP99.toFixed(2)), unit: 'ms' },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runMediaBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${f.value} ${f.unit}`);
}
