// A load rig shared by the capacity bench and the soak test: the real engine process (started as the e2e tests
// start it, optionally pinned to some cores), a stand-in local AI server in its own process (fake-local-ai.ts)
// and callers placed through the Asterisk test peer in this process over ARI and ExternalMedia RTP µ-law.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@ai-agent/common';
import { nodeEntry } from '@ai-agent/common/testing';
import { CallerSession, type LegImpairments, type ScriptStep } from '@ai-agent/test-peers';
import { startEngine, type EngineUnderTest } from '../../engine/test/e2e/helpers.ts';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
/** Calls placed per second while growing: a burst of call set-ups is not the steady load measured. */
const PLACE_PER_SECOND = 25;
/** After the last call is placed (its greeting, first turns) before a measurement starts. */
const SETTLE_MS = 3000;
const log = createLogger({ service: 'bench', level: 'silent' });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system) of a process, all its threads (`/proc/<pid>/stat`), or of one thread (`task/<tid>`), ms. */
export function cpuMs(path: string): number {
  const fields = readFileSync(`/proc/${path}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** How long a thread has been runnable but waiting for a CPU (Linux schedstat), ms: the host's share of any lateness. */
export function cpuWaitMs(path: string): number {
  return Number(readFileSync(`/proc/${path}/schedstat`, 'utf8').split(' ')[1]) / 1e6;
}

export function allowedCpus(pid: number): number[] {
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return list.split(',').flatMap((range) => {
    const [from, to = from] = range.split('-').map(Number);
    return Array.from({ length: to! - from! + 1 }, (_, i) => from! + i);
  });
}

/** Pins a thread (`-p`), or a whole process with its threads (`-a -p`), to these CPUs. */
export function pin(pid: number, cpus: number[], allThreads: boolean): void {
  execFileSync('taskset', [...(allThreads ? ['-a'] : []), '-p', '-c', cpus.join(','), String(pid)], { stdio: 'ignore' });
}

/** Sets the scheduling policy of a process and all its threads (`--idle`, or `--other`: the normal one). */
function schedule(pid: number, policy: '--idle' | '--other'): void {
  execFileSync('chrt', ['--all-tasks', policy, '-p', '0', String(pid)], { stdio: 'ignore' });
}

/** Sums the samples of a Prometheus text metric whose label set contains `labels`. */
export function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ') || !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A caller whose audio heard is not analysed: recording it would cost the peer 16 kB a second per call. */
class BenchCaller extends CallerSession {
  override hear(): void {}
}

export interface CallRigOptions {
  label: string;
  /** Cores for the engine, and for everything else (callers, stand-in AI); default: no pinning. */
  engineCpus?: number[];
  otherCpus?: number[];
  /** What each new caller does (its n-th call). */
  script: (n: number) => ScriptStep[];
  /** Network impairment of every RTP leg, both directions. */
  impair?: LegImpairments;
  /** A finished call is replaced by a new one (churn), instead of being counted as ended early. */
  replaceEnded?: boolean;
  /** Engine processes (`shards:`); default 1. */
  shards?: number;
}

/** The engine, its stand-in AI server and the callers, resized between measurements. */
export class CallRig {
  private readonly calls: BenchCaller[] = [];
  private target = 0;
  placed = 0;
  endedEarly = 0;
  /** Channels of the calls the rig hung up itself (resizing down), not by their script's end. */
  readonly hungUpByRig = new Set<string>();
  private readonly channelOf = new Map<BenchCaller, string>();
  private closing = false;

  private constructor(
    private readonly opts: CallRigOptions,
    private readonly dir: string,
    readonly ai: ChildProcess,
    readonly sut: EngineUnderTest,
    /** The callers run at idle priority on the engine's cores; back to normal when the rig closes. */
    private readonly idlePriority: boolean,
  ) {}

  static async start(opts: CallRigOptions): Promise<CallRig> {
    const { engineCpus, otherCpus } = opts;
    if (otherCpus) pin(process.pid, otherCpus, true);
    const { module, execArgv } = nodeEntry(fileURLToPath(new URL('./fake-local-ai.ts', import.meta.url)));
    const ai = fork(module, [], { execArgv, stdio: 'inherit' });
    const port = await new Promise<number>((resolve, reject) => {
      ai.once('message', (msg) => resolve((msg as { port: number }).port));
      ai.once('exit', (code) => reject(new Error(`the fake local AI server exited (${code})`)));
    });
    // A child inherits the affinity of the thread that spawns it: the engine starts pinned, before its VAD pool
    // counts the cores it may use.
    if (engineCpus) pin(process.pid, engineCpus, false);
    const dir = mkdtempSync(join(tmpdir(), 'call-rig-'));
    let sut: EngineUnderTest;
    try {
      sut = await startEngine({
        dir,
        name: 'rig',
        localAiPort: port,
        telephony: 'transport: rtp\nrtp_format: ulaw',
        contexts: 'default:\n  greeting: Hello.\n  tools: []\n  limits: { max_call_seconds: 86400, no_input_seconds: 600 }',
        limits: 'max_concurrent_calls: 10000\nmax_call_seconds: 86400\ndrain_timeout_seconds: 0',
        peer: { log, impair: opts.impair },
        ...(opts.shards && opts.shards > 1 ? { sections: `shards: ${opts.shards}` } : {}),
      });
      // Callers are spread only once every process has its Stasis app and process 1 knows it.
      for (let i = 2; i <= (opts.shards ?? 1); i++) await sut.peer.waitForApp(`ai-agent-shard-${i}`, 60_000);
      while ([...sut.engine.stdout().matchAll(/new callers may be moved to it/g)].length < (opts.shards ?? 1) - 1) await sleep(100);
    } catch (err) {
      ai.kill();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    } finally {
      if (otherCpus) pin(process.pid, otherCpus, false);
    }
    // Callers and stand-in on the engine's own cores (none left for them) run at idle priority, once the engine
    // has started (its processes keep the normal policy): they take only the CPU the engine leaves, as on a core of
    // their own, so the figures are the engine's and not the scheduler's share-out between them.
    const sharing = engineCpus !== undefined && otherCpus !== undefined && otherCpus.some((c) => engineCpus.includes(c));
    if (sharing) for (const pid of [process.pid, ai.pid!]) schedule(pid, '--idle');
    if (engineCpus && otherCpus) {
      const pinned = allowedCpus(sut.engine.child.pid!).join(',');
      console.log(`  [${opts.label}] engine pid ${sut.engine.child.pid} on cpus ${pinned}; callers and fake AI on cpus ${otherCpus.join(',')}` +
        (sharing ? ' (no core left: they share the engine\'s, at idle priority)' : ''));
    }
    return new CallRig(opts, dir, ai, sut, sharing);
  }

  /** The engine's processes: the one started and those it started (`shards:`). */
  enginePids(): number[] {
    const pid = this.sut.engine.child.pid!;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(children ? children.split(' ').map(Number) : [])];
  }

  get label(): string {
    return this.opts.label;
  }

  get active(): number {
    return this.calls.length;
  }

  /** Places a call the way AsteriskPeer.placeCall does, with a caller that does not record. */
  private async place(): Promise<void> {
    const { core } = this.sut.peer;
    const n = ++this.placed;
    const number = `5550${String(n).padStart(6, '0')}`;
    const session = new BenchCaller({ script: this.opts.script(n), log, transmitSilence: true });
    await session.prepare();
    const ch = core.createCaller({
      app: 'ai-agent', args: [], callerId: { name: '', number }, variables: {}, answered: false, context: 'from-external', extension: 's', session,
    });
    core.enterStasis(ch, 'ai-agent', []);
    session.run();
    this.calls.push(session);
    this.channelOf.set(session, ch.id);
    void session.done.then(() => {
      this.channelOf.delete(session);
      const i = this.calls.indexOf(session);
      if (i < 0) return;
      this.calls.splice(i, 1);
      if (!this.opts.replaceEnded) this.endedEarly++;
      else if (!this.closing && this.calls.length < this.target) void this.place();
    });
  }

  async metrics(): Promise<string> {
    const res = await fetch(`${this.sut.control}/metrics`);
    if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
    return res.text();
  }

  /** Brings the number of live calls to `calls` and waits until the engine has them all, then settles. */
  async resize(calls: number): Promise<void> {
    this.target = calls;
    while (this.calls.length > calls) {
      const session = this.calls.pop()!;
      const channel = this.channelOf.get(session);
      if (channel) this.hungUpByRig.add(channel);
      session.line?.hangup();
      session.remoteEnded('caller-hangup');
    }
    while (this.calls.length < calls) {
      await this.place();
      await sleep(1000 / PLACE_PER_SECOND);
    }
    const deadline = performance.now() + 30_000;
    while (metric(await this.metrics(), 'ai_agent_active_calls') !== this.calls.length && performance.now() < deadline) await sleep(200);
    await sleep(SETTLE_MS);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.resize(0).catch(() => undefined);
    await this.sut.stop();
    this.ai.kill();
    if (this.idlePriority) schedule(process.pid, '--other');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
