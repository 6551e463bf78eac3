import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { freePort, jsonLines, REPO_ROOT } from '@ai-agent/common/testing';
import { pause, startAsteriskPeer, type AsteriskPeer } from '@ai-agent/test-peers';

// `npm start` (scripts/start.mjs) as an operator runs it: the three services as real processes, Asterisk
// played by the test peer. The product runs in a process group of its own, as under a terminal, so a
// signal can be sent to the whole group the way Ctrl-C does, or to start.mjs alone the way `kill` does.

interface Product {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  /** The services' pids (start.mjs's children). */
  services(): number[];
  /** Every process of this run still running: start.mjs, the services and anything they started. */
  running(): number[];
  /** Ends what is left of a failed run (the services are in process groups of their own). */
  kill(): void;
  logs(service: string): Array<Record<string, unknown>>;
}

const dir = mkdtempSync(join(tmpdir(), 'start-signals-'));
let peer: AsteriskPeer;
let runs = 0;

/** Starts start.mjs in a new process group. Every variable .env.example names is set, so a developer's .env changes nothing. */
async function startProduct(opts: { disable?: string; drainSeconds: number }): Promise<{ product: Product; store: string }> {
  const name = `run-${++runs}`;
  const store = join(dir, `calls-${name}.sqlite`);
  const localPort = await freePort();
  const config = join(dir, `engine-${name}.yaml`);
  writeFileSync(
    config,
    `ari:
  url: \${ARI_URL}
  username: \${ARI_USERNAME}
  app: ai-agent
control:
  port: 0
media:
  rtp: { port_min: 0, port_max: 0 }
  audiosocket: { port: 0 }
  websocket: { port: 0 }
providers:
  local: { type: local_ai, url: "ws://127.0.0.1:${localPort}" }
store:
  path: ${store}
limits:
  drain_timeout_seconds: ${opts.drainSeconds}
contexts:
  default:
    greeting: Thank you for calling.
`,
  );
  const env = {
    ...parseEnv(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')),
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_NO_WARNINGS: '1',
    AI_AGENT_CONFIG: config,
    ARI_URL: peer.url,
    ARI_USERNAME: peer.username,
    ARI_PASSWORD: peer.password,
    LOCAL_WS_PORT: String(localPort),
    ADMIN_PORT: '0',
    DISABLE_SERVICES: opts.disable ?? '',
  };
  const child = spawn(process.execPath, ['scripts/start.mjs'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: string): void => {
    out += d;
    waiters.forEach((w) => w());
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      resolve(code);
      waiters.forEach((w) => w());
    }),
  );
  const pid = child.pid!;
  const product: Product = {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pattern.test(out)) done(resolve);
          else if (child.exitCode !== null) done(() => reject(new Error(`start.mjs exited before ${pattern}:\n${out}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${out}`))), timeoutMs);
        const done = (then: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          then();
        };
        waiters.add(check);
        check();
      });
    },
    services: () => ours(config).filter((p) => parentOf(p) === pid),
    running: () => ours(config),
    kill() {
      for (const p of ours(config)) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    },
    logs: (service) => jsonLines(out).filter((l) => l.service === service),
  };
  return { product, store };
}

/** Processes of one run: those whose environment names its config file (start.mjs passes it to each service). */
function ours(config: string): number[] {
  const entry = `AI_AGENT_CONFIG=${config}`;
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(entry);
      } catch {
        return false; // gone, or not ours to read
      }
    })
    .map(Number);
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name (which may hold spaces and parentheses): state, then the parent's pid.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}

function outcomes(store: string): Array<{ outcome: string | null; last_turn: string | null }> {
  const db = new BetterSqlite3(store, { readonly: true });
  try {
    return db.prepare(`SELECT outcome, (SELECT text FROM turns WHERE call_id = calls.id ORDER BY seq DESC LIMIT 1) AS last_turn FROM calls`).all() as never;
  } finally {
    db.close();
  }
}

const messages = (lines: Array<Record<string, unknown>>): unknown[] => lines.map((l) => l.msg);

describe('npm start: stop signals', { timeout: 120_000 }, () => {
  before(async () => {
    peer = await startAsteriskPeer({ username: 'ai-agent' });
  });
  after(async () => {
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Ctrl-C (SIGINT to the whole group) drains a call in progress: each service gets the signal once', async () => {
    const { product, store } = await startProduct({ drainSeconds: 1 });
    try {
      await product.waitFor(/"msg":"providers ready/);
      await product.waitFor(/"msg":"admin UI listening"/);
      assert.equal(await peer.waitForApp('ai-agent', 15_000), true, 'the engine did not register its Stasis app');
      const control = `http://127.0.0.1:${(product.logs('engine').find((l) => l.msg === 'engine control server listening')!.address as { port: number }).port}`;
      const call = await peer.placeCall({ callerId: { number: '4155550123' }, script: [pause(60_000)] });
      await product.waitFor(/"msg":"call entered Stasis"/, 15_000);
      // A call in progress: its media leg is up and the greeting is playing when the signal comes.
      await new Promise((r) => setTimeout(r, 1500));
      const services = product.services();
      assert.equal(services.length, 3, `three services: ${services}`);

      const signalledAt = Date.now();
      process.kill(-product.child.pid!, 'SIGINT');
      await product.waitFor(/"msg":"draining: no new calls/, 10_000);
      const ready = await fetch(`${control}/ready`).then((r) => r.status, (err: Error) => err.message);
      assert.equal(ready, 503, `/ready answers 503 while draining:\n${product.output()}`);
      assert.equal(await product.exited, 0, product.output());

      const engine = messages(product.logs('engine'));
      assert.ok(!engine.includes('second signal: exiting now'), product.output());
      assert.equal(engine.filter((m) => m === 'stopping').length, 1);
      const drained = product.logs('engine').find((l) => l.msg === 'drained');
      assert.deepEqual(drained && { activeAtStart: drained.activeAtStart, hungUp: drained.hungUp, abandoned: drained.abandoned }, { activeAtStart: 1, hungUp: 1, abandoned: 0 });
      // The local AI server stopped once, and only after the drain: the calls need it until they end.
      const localStops = product.logs('local-ai-server').filter((l) => l.msg === 'shutting down');
      assert.equal(localStops.length, 1);
      assert.ok(Date.parse(localStops[0]!.time as string) >= Date.parse(drained!.time as string), product.output());
      // The call was ended by the drain: after the drain timeout the caller heard the drain message, then the
      // engine hung up.
      const report = await call.done;
      assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
      // (The drain message may follow the greeting without a gap: synthesis carries no lead-in silence.)
      const spurtEnds = report.agentSpurts.map((s) => Date.parse(report.startedAt) + s.endMs - signalledAt);
      assert.ok(spurtEnds.some((t) => t >= 1000), `agent audio after the drain timeout: ${spurtEnds}`);
      const rows = outcomes(store);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.outcome, 'drained');
      assert.match(rows[0]!.last_turn ?? '', /restart|goodbye/i);
      assert.deepEqual(product.running(), [], 'nothing of the product is left running');
    } finally {
      product.kill();
    }
  });

  it('the same Ctrl-C passed on again (by npm) is one request; a signal a second later ends the drain at once', async () => {
    const { product } = await startProduct({ drainSeconds: 60 });
    try {
      await product.waitFor(/"msg":"providers ready/);
      assert.equal(await peer.waitForApp('ai-agent', 15_000), true, 'the engine did not register its Stasis app');
      await peer.placeCall({ script: [pause(60_000)] });
      await product.waitFor(/"msg":"call entered Stasis"/, 15_000);
      assert.equal(product.services().length, 3);
      // npm, when it is start.mjs's parent, passes on the SIGINT its group got: start.mjs hears it twice.
      process.kill(-product.child.pid!, 'SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      process.kill(product.child.pid!, 'SIGINT');
      await product.waitFor(/"msg":"draining: no new calls/, 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.ok(!messages(product.logs('engine')).includes('second signal: exiting now'), product.output());
      assert.equal(product.child.exitCode, null, 'still draining');
      const insistedAt = Date.now();
      process.kill(-product.child.pid!, 'SIGINT');
      assert.equal(await product.exited, 0, product.output());
      assert.ok(Date.now() - insistedAt < 10_000, 'stopped without waiting for the call');
      assert.ok(messages(product.logs('engine')).includes('second signal: exiting now'), product.output());
      assert.deepEqual(product.running(), [], 'nothing of the product is left running');
    } finally {
      product.kill();
    }
  });

  it('a signal to start.mjs alone (kill <pid>, a process manager) is passed on to each service once', async () => {
    const { product } = await startProduct({ disable: 'local-ai-server', drainSeconds: 1 });
    try {
      await product.waitFor(/"msg":"engine control server listening"/);
      await product.waitFor(/"msg":"admin UI listening"/);
      const services = product.services();
      assert.equal(services.length, 2, `two services: ${services}`);
      process.kill(product.child.pid!, 'SIGTERM');
      assert.equal(await product.exited, 0, product.output());
      const engine = product.logs('engine');
      assert.deepEqual(engine.filter((l) => l.msg === 'stopping').map((l) => l.signal), ['SIGTERM']);
      assert.ok(messages(engine).includes('drained'), product.output());
      assert.ok(!messages(engine).includes('second signal: exiting now'), product.output());
      assert.deepEqual(product.running(), [], 'nothing of the product is left running');
    } finally {
      product.kill();
    }
  });
});
