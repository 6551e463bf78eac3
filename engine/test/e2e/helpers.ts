import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startService, type ServiceProcess } from '@ai-agent/common/testing';
import { startAsteriskPeer, type AsteriskPeer, type AsteriskPeerOptions } from '@ai-agent/test-peers';
import type { CallEventRecord } from '../../src/call/index.ts';

/** The local AI server as a real process on an ephemeral port. */
export async function startLocalAi(env: Record<string, string> = {}): Promise<{ proc: ServiceProcess; port: number }> {
  const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0', ...env });
  const line = await proc.waitFor(/local AI server listening/, 60_000);
  return { proc, port: (JSON.parse(line) as { port: number }).port };
}

export interface EngineUnderTest {
  peer: AsteriskPeer;
  engine: ServiceProcess;
  /** http://127.0.0.1:<control port> */
  control: string;
  /** Stops the engine process (SIGTERM: a drain; SIGKILL: a crash) and starts a new one on the same config (and call store). */
  restart(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The engine as a real process, connected to a fresh Asterisk test peer, with the offline providers.
 * `telephony` and `contexts` are YAML fragments placed under those keys.
 */
export async function startEngine(opts: {
  dir: string;
  name: string;
  localAiPort: number;
  telephony: string;
  contexts?: string;
  limits?: string;
  /** More provider instances (YAML lines under `providers:`, next to `local`). */
  providers?: string;
  /** More environment for the engine process (e.g. vendor keys for provider stand-ins). */
  env?: Record<string, string>;
  /** Call store file (default: in `dir`). */
  store?: string;
  /** More top-level sections, as YAML (e.g. `egress:` and `webhooks:`). */
  sections?: string;
  /** YAML lines under `store:` instead of the file (e.g. a PostgreSQL store). */
  storeConfig?: string;
  /** The engine's Stasis app (default ai-agent). */
  app?: string;
  peer?: AsteriskPeerOptions;
  /** An Asterisk test peer several engines share (left running by stop()); default: a fresh one of its own. */
  sharedPeer?: AsteriskPeer;
}): Promise<EngineUnderTest> {
  const app = opts.app ?? 'ai-agent';
  const peer = opts.sharedPeer ?? (await startAsteriskPeer({ username: 'ai-agent', ...opts.peer }));
  const config = join(opts.dir, `engine-${opts.name}.yaml`);
  writeFileSync(
    config,
    `ari:
  url: \${ARI_URL}
  username: \${ARI_USERNAME}
  app: ${app}
control:
  port: 0
logging:
  level: \${E2E_LOG_LEVEL:-info}
telephony:
${opts.telephony.replace(/^/gm, '  ')}
media:
  rtp: { port_min: 0, port_max: 0 }
  audiosocket: { port: 0 }
  websocket: { port: 0 }
providers:
  local: { type: local_ai, url: "ws://127.0.0.1:${opts.localAiPort}" }
${opts.providers ? `${opts.providers.replace(/^/gm, '  ')}\n` : ''}store:
${(opts.storeConfig ?? `path: ${opts.store ?? join(opts.dir, `calls-${opts.name}.sqlite`)}`).replace(/^/gm, '  ')}
${opts.limits ? `limits:\n${opts.limits.replace(/^/gm, '  ')}\n` : ''}${opts.sections ? `${opts.sections}\n` : ''}contexts:
${(opts.contexts ?? 'default:\n  greeting: Thank you for calling. How can I help?\n  tools: [hangup]').replace(/^/gm, '  ')}
`,
  );
  const launch = async (): Promise<{ engine: ServiceProcess; control: string }> => {
    const engine = startService('engine/src/main.ts', {
      AI_AGENT_CONFIG: config,
      ARI_URL: peer.url,
      ARI_USERNAME: peer.username,
      ARI_PASSWORD: peer.password,
      E2E_LOG_LEVEL: process.env.E2E_LOG_LEVEL,
      ...opts.env,
    });
    try {
      // Cold start under load (tsx compiling the engine on two busy cores) can take well over 15 s.
      const line = await engine.waitFor(/engine control server listening/, 60_000);
      const control = `http://127.0.0.1:${(JSON.parse(line) as { address: { port: number } }).address.port}`;
      await engine.waitFor(/providers ready/, 60_000);
      assert.equal(await peer.waitForApp(app, 15_000), true, 'the engine did not register its Stasis app');
      return { engine, control };
    } catch (err) {
      // An engine that did not come up is not left running (it would keep the test process alive).
      await engine.stop('SIGKILL');
      throw err;
    }
  };
  let first: Awaited<ReturnType<typeof launch>>;
  try {
    first = await launch();
  } catch (err) {
    // Nor is the peer it was given to: its listening socket would keep the test file from ever exiting.
    if (!opts.sharedPeer) await peer.close();
    throw err;
  }
  const sut = { peer, ...first } as EngineUnderTest;
  sut.restart = async (signal) => {
    await sut.engine.stop(signal);
    Object.assign(sut, await launch());
  };
  sut.stop = async () => {
    await sut.engine.stop();
    if (process.env.E2E_LOG_FILE) writeFileSync(`${process.env.E2E_LOG_FILE}.${opts.name}`, sut.engine.stdout());
    if (!opts.sharedPeer) await peer.close();
  };
  return sut;
}

export async function getJson<T>(url: string): Promise<T> {
  const { get } = await import('node:http');
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => {
        try {
          assert.equal(res.statusCode, 200, `${url}: ${body}`);
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err);
        }
      });
    }).on('error', reject);
  });
}

export interface StoredCall {
  id: string;
  outcome?: string;
  transport: string;
  callerNumber?: string;
  turns: Array<{ speaker: string; text: string; interrupted: boolean }>;
  events: CallEventRecord[];
}

/** Waits until the newest `count` call records are finished (records are written when teardown ends). */
export async function finishedCalls(control: string, count: number, timeoutMs = 10_000): Promise<StoredCall[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { recent } = await getJson<{ recent: Array<{ id: string; outcome?: string }> }>(`${control}/calls?limit=${count}`);
    if (recent.length >= count && recent.every((c) => c.outcome)) {
      return Promise.all(recent.map(async (c) => (await getJson<{ record: StoredCall }>(`${control}/calls/${c.id}`)).record));
    }
    if (Date.now() > deadline) throw new Error(`calls not finished: ${JSON.stringify(recent)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Open file descriptors of a process, as the kernel lists them (fd → what it points at). */
export async function openHandles(pid: number): Promise<Map<string, string>> {
  const { readdirSync, readlinkSync } = await import('node:fs');
  const fds = new Map<string, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      fds.set(fd, readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // closed while listing
    }
  }
  return fds;
}
