// The media loop under the engine's other work: 100 ExternalMedia RTP calls on the shared pacer (µ-law both
// ways, every caller frame echoed back, Asterisk simulated in another process by `media-asterisk.ts`), each
// also doing what a call does besides audio: logging at debug level through the real logger and scrubber
// (10 lines a second, with its caller's number), writing its record through a CallRecorder to a real SQLite
// call store (a turn a second, a barge-in every 2 s) and, every 10 s, ending and giving way to a new caller.
// The engine has taken 2000 calls before the measurement starts. Two seconds into the 7 s measurement another
// process takes the database's write lock and holds it for 2 s.
// Size: one measurement, its engine side and its caller side (a fork of this file) read together.
//
// The engine side runs in a child process whose stdout (the log) this one reads, like a supervisor's pipe;
// this process also holds the lock, and runs a bare pacer to show the host's own timing noise. Figures:
// - pacer p99 / max lateness while the store is locked, and p99 over the whole measurement: how late each
//   20 ms frame slot was served; a slot whose tick was skipped after a stall counts as late as the tick that
//   replaced it (the pacer's own lateness figures only cover ticks that ran);
// - frames skipped while locked; event loop lag p99; engine CPU; wire interval p99 deviation (measured by the
//   simulated Asterisk); call records lost (turns written by the calls, not in the database once the store
//   has closed); log lines per second;
// - the host's share: how long the engine's main thread was runnable but waiting for a CPU while locked (Linux
//   schedstat), and the bare pacer's p99 in this process over the same 2 s.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { createLogger, registerEnvSecrets, registerPhoneNumber, unregisterPhoneNumber, type Logger } from '@ai-agent/common';
import { nodeEntry } from '@ai-agent/common/testing';
import { Pacer, sharedPacer } from '../../engine/src/audio/pacer.ts';
import { SqliteCallStore } from '../../engine/src/store/sqlite-store.ts';
import { CallRecorder } from '../../engine/src/telephony/call-recorder.ts';
import { RtpMediaServer } from '../../engine/src/transport/rtp/rtp-server.ts';
import type { RtpMediaStream } from '../../engine/src/transport/rtp/rtp-stream.ts';
import type { SimReport } from './media-asterisk.ts';
import { percentile } from './stats.ts';

type Figures = Record<string, { value: number; unit: string }>;

const CALLS = 100;
const EARLIER_CALLS = 2000;
const CALL_SECONDS = 10;
const WARMUP_MS = 2000;
const MEASURE_MS = 7000;
const LOCK_AFTER_MS = 2000;
const LOCK_MS = 2000;
const ACTIVITY_MS = 100;
const ROLE = 'MEDIA_LOOP_BENCH_ROLE';

/** Engine → bench: ask for the lock (the database path), measurement window marks, the figures. */
type EngineMessage = { type: 'lock'; path: string } | { type: 'window'; edge: 'start' | 'end' } | { type: 'figures'; figures: Figures };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long this process's main thread has been runnable but waiting for a CPU (Linux schedstat), ms. */
const cpuWaitMs = (): number => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
const round2 = (value: number): number => Number(value.toFixed(2));

/** One line of a call that goes on and on: a new caller (number, record) every CALL_SECONDS. */
class BenchCall {
  private step: number;
  private recorder!: CallRecorder;
  private number = '';
  private log!: Logger;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly engine: { store: SqliteCallStore; log: Logger; nextNumber(): string; turnsWritten: number },
    private readonly line: number,
  ) {
    // Calls end at different times, as they would.
    this.step = Math.floor(Math.random() * CALL_SECONDS * (1000 / ACTIVITY_MS));
    this.startCaller();
  }

  private startCaller(): void {
    this.number = this.engine.nextNumber();
    registerPhoneNumber(this.number);
    const id = `call-${this.line}-${this.number}`;
    this.log = this.engine.log.child({ callId: id });
    this.recorder = new CallRecorder(this.engine.store, { id, context: 'sales', callerNumber: this.number, transport: 'rtp', codec: 'ulaw' });
    this.recorder.answered();
    this.log.info({ caller: this.number }, 'call entered Stasis');
  }

  private endCaller(): void {
    this.recorder.finish('caller_hangup', 'normal clearing');
    this.log.info({ outcome: 'caller_hangup' }, 'call ended');
    unregisterPhoneNumber(this.number);
  }

  /** Each call on its own phase, as calls that started at different times are. */
  start(): void {
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => this.act(), ACTIVITY_MS);
    }, Math.random() * ACTIVITY_MS);
  }

  private act(): void {
    const step = ++this.step % (CALL_SECONDS * (1000 / ACTIVITY_MS));
    this.log.debug({ caller: this.number, from: 'listening', to: step % 2 ? 'thinking' : 'speaking', jitter: { depth: 3, late: 0 } }, 'conversation state');
    const at = new Date().toISOString();
    if (step % 10 === 0) {
      this.recorder.sink.turn({
        speaker: step % 20 ? 'caller' : 'agent',
        text: `my number is ${this.number} and the order is 4417 1234`,
        startedAt: at,
        endedAt: at,
        interrupted: false,
        latency: { endpointingMs: 210, sttFinalMs: 80, llmFirstTokenMs: 320, totalMs: 790 },
      });
      this.engine.turnsWritten++;
    }
    if (step % 20 === 5) this.recorder.sink.event({ kind: 'barge_in', at, reactionMs: 110, heardText: 'sure, your order' });
    if (step === 0) {
      this.endCaller();
      this.startCaller();
    }
  }

  stop(): void {
    // Clears the interval as well as the delay before it.
    clearTimeout(this.timer);
    this.endCaller();
  }
}

/** Records the number and time of every tick the pacer runs, for lateness per 20 ms frame slot. */
class TickProbe {
  private readonly ticks: number[] = [];
  private readonly times: number[] = [];
  /** Index in the pacer's lateness ring of the first tick seen. */
  private readonly firstRun: number;
  readonly sink = {
    sendTick: (tick: number): void => {
      this.ticks.push(tick);
      this.times.push(performance.now());
    },
    receiveTick: (): void => undefined,
  };

  constructor(private readonly pacer: Pacer) {
    this.firstRun = pacer.stats.ticks;
  }

  /**
   * Every frame slot due in [from, to) and how late it was served: the pacer's own figure for a tick that ran;
   * a slot whose tick was skipped was served by the next tick that ran, that many frames later.
   */
  slots(from: number, to: number): Array<{ late: number; skipped: boolean }> {
    const ring = this.pacer.lateness;
    const frame = this.pacer.frameMs;
    const out: Array<{ late: number; skipped: boolean }> = [];
    for (let i = 0; i < this.ticks.length; i++) {
      const late = ring[(this.firstRun + i) & (ring.length - 1)]!;
      const due = this.times[i]! - late;
      const skipped = i === 0 ? 0 : this.ticks[i]! - this.ticks[i - 1]! - 1;
      for (let k = skipped; k >= 0; k--) {
        if (due - k * frame >= from && due - k * frame < to) out.push({ late: late + k * frame, skipped: k > 0 });
      }
    }
    return out;
  }
}

async function runEngine(): Promise<void> {
  registerEnvSecrets();
  const log = createLogger({ service: 'engine', level: 'debug' });
  const dir = mkdtempSync(join(tmpdir(), 'media-loop-bench-'));
  const path = join(dir, 'calls.sqlite');
  const store = new SqliteCallStore({ path, redaction: { toolArguments: () => 'redacted', showPhoneNumbers: () => false }, log });
  const pacer = sharedPacer();
  const server = new RtpMediaServer({ log, host: '127.0.0.1', portMin: 0, portMax: 0, pacer });
  const asterisk = nodeEntry(fileURLToPath(new URL('./media-asterisk.ts', import.meta.url)));
  const sim = fork(asterisk.module, [], { execArgv: asterisk.execArgv, stdio: 'inherit' });
  const fromSim = <T>(message: object): Promise<T> =>
    new Promise((resolve) => {
      sim.once('message', (reply) => resolve(reply as T));
      sim.send(message);
    });

  let numbers = 0;
  const engine = { store, log, nextNumber: () => `555${String(++numbers).padStart(7, '0')}`, turnsWritten: 0 };
  for (let i = 0; i < EARLIER_CALLS; i++) {
    const number = engine.nextNumber();
    registerPhoneNumber(number);
    unregisterPhoneNumber(number);
  }
  const streams: RtpMediaStream[] = [];
  for (let i = 0; i < CALLS; i++) {
    const stream = await server.allocate(`bench-${i}`, 'ulaw');
    // The pipeline stand-in: every caller frame is written straight back (both directions busy).
    stream.on('frame', (f) => {
      if (f.kind !== 'silence') stream.write(f.samples, 16000);
    });
    streams.push(stream);
  }
  await fromSim({ type: 'calls', ports: streams.map((s) => s.port) });
  const probe = new TickProbe(pacer);
  const removeProbe = pacer.add(probe.sink);
  const calls = streams.map((_, i) => new BenchCall(engine, i));
  for (const call of calls) call.start();

  await sleep(WARMUP_MS);
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  sim.send({ type: 'measure' });
  process.send!({ type: 'window', edge: 'start' } satisfies EngineMessage);
  const start = performance.now();
  const cpuAtStart = process.cpuUsage();
  await sleep(LOCK_AFTER_MS);
  // The lock window is the engine's own: from asking (the bench locks at once) for the time the lock is held.
  const lockFrom = performance.now();
  const cpuWaitBefore = cpuWaitMs();
  let cpuWaitWhileLocked = 0;
  setTimeout(() => {
    cpuWaitWhileLocked = cpuWaitMs() - cpuWaitBefore;
  }, LOCK_MS);
  process.send!({ type: 'lock', path } satisfies EngineMessage);
  await sleep(start + MEASURE_MS - performance.now());
  const end = performance.now();
  const cpu = process.cpuUsage(cpuAtStart);
  process.send!({ type: 'window', edge: 'end' } satisfies EngineMessage);
  lag.disable();
  const report = await fromSim<SimReport>({ type: 'report' });

  for (const call of calls) call.stop();
  removeProbe();
  for (const stream of streams) stream.close();
  server.close();
  sim.send({ type: 'stop' });
  await store.close();
  const db = new BetterSqlite3(path, { readonly: true });
  const stored = (db.prepare('SELECT count(*) AS n FROM turns').get() as { n: number }).n;
  db.close();
  rmSync(dir, { recursive: true, force: true });

  const locked = probe.slots(lockFrom, lockFrom + LOCK_MS);
  const lockedLateness = locked.map((slot) => slot.late);
  const whole = probe.slots(start, end).map((slot) => slot.late);
  const figures: Figures = {
    'media loop pacer p99 lateness while the store is locked (100 calls)': { value: round2(percentile(lockedLateness, 99)), unit: 'ms' },
    'media loop pacer max lateness while the store is locked': { value: round2(Math.max(...lockedLateness)), unit: 'ms' },
    'media loop frames skipped while the store is locked': { value: locked.filter((slot) => slot.skipped).length, unit: 'frames' },
    'media loop engine main thread waiting for a CPU while the store is locked': { value: Math.round(cpuWaitWhileLocked), unit: 'ms of 2000' },
    'media loop pacer p99 lateness over the run': { value: round2(percentile(whole, 99)), unit: 'ms' },
    'media loop event loop lag p99': { value: round2(lag.percentile(99) / 1e6), unit: 'ms' },
    'media loop engine cpu (all threads)': { value: Number((((cpu.user + cpu.system) / 1000 / (end - start)) * 100).toFixed(1)), unit: '% of a core' },
    'media loop wire interval p99 deviation': { value: round2(report.wireP99DeviationMs), unit: 'ms' },
    'media loop call records lost': { value: engine.turnsWritten - stored, unit: 'turns' },
  };
  process.send!({ type: 'figures', figures } satisfies EngineMessage);
}

export async function runMediaLoopBench(): Promise<Figures> {
  const self = nodeEntry(fileURLToPath(import.meta.url));
  const child = fork(self.module, [], {
    execArgv: self.execArgv,
    env: { ...process.env, [ROLE]: 'engine', LOG_FILE: '' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  // The host's own noise, measured alongside: a pacer with nothing to do, in this otherwise idle process.
  const bare = new Pacer();
  const bareProbe = new TickProbe(bare);
  const removeBare = bare.add(bareProbe.sink);
  let lines = 0;
  let linesAtStart = 0;
  let windowStart = 0;
  let linesPerSecond = 0;
  let lockedAt = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
  });
  try {
    const figures = await new Promise<Figures>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`the engine side exited (${code}) before reporting`)));
      child.on('message', (message: EngineMessage) => {
        switch (message.type) {
          case 'window':
            if (message.edge === 'start') {
              linesAtStart = lines;
              windowStart = performance.now();
            } else linesPerSecond = ((lines - linesAtStart) * 1000) / (performance.now() - windowStart);
            return;
          case 'lock': {
            const locker = new BetterSqlite3(message.path);
            locker.exec('BEGIN EXCLUSIVE');
            lockedAt = performance.now();
            setTimeout(() => {
              locker.exec('COMMIT');
              locker.close();
            }, LOCK_MS);
            return;
          }
          case 'figures':
            resolve(message.figures);
        }
      });
    });
    const bareLateness = bareProbe.slots(lockedAt, lockedAt + LOCK_MS).map((slot) => slot.late);
    return {
      ...figures,
      'media loop host noise: bare pacer p99 lateness in another process while locked': { value: round2(percentile(bareLateness, 99)), unit: 'ms' },
      'media loop log lines (debug, scrubbed)': { value: Math.round(linesPerSecond), unit: 'lines/s' },
    };
  } finally {
    removeBare();
    child.kill();
  }
}

if (process.env[ROLE] === 'engine') await runEngine();
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = await runMediaLoopBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${f.value} ${f.unit}`);
}
