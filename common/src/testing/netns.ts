import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A real non-loopback peer: a network namespace joined to this host by a veth pair with addresses we assign.
 * Traffic stays inside this machine; a server bound to `hostAddress` sees `peerAddress` as its caller.
 */
export interface RemotePeer {
  hostAddress: string;
  peerAddress: string;
  /** Runs a Node script inside the namespace; resolves with its stdout. */
  runNode(script: string, timeoutMs?: number): Promise<string>;
  destroy(): Promise<void>;
}

let counter = 0;

/**
 * `subnet`: the /30's first address (`a.b.c.d`, d a multiple of 4) when a test needs a fixed pair of its own,
 * outside the pool below (a suite whose addresses must not meet another file's, whatever the pids).
 */
export async function createRemotePeer(opts: { subnet?: string } = {}): Promise<RemotePeer> {
  // Distinct /30 per peer so parallel test files never clash, and up to 16 peers of one process never share an
  // address (the engine keys failure limits by source address). 960 × 16 /30s fill 10.231.16.0–10.231.255.255.
  const id = (process.pid % 960) * 16 + (counter++ % 16);
  const subnet = 16 + (id >> 6);
  const base = (id & 0x3f) * 4;
  const ns = `aiagent-t${process.pid}-${counter}`;
  const hostIf = `vh${process.pid % 100000}x${counter}`;
  const peerIf = `vp${process.pid % 100000}x${counter}`;
  const fixed = opts.subnet?.split('.').map(Number);
  if (fixed && (fixed.length !== 4 || fixed[3]! % 4 !== 0)) throw new Error(`subnet ${opts.subnet} is not the start of a /30`);
  const hostAddress = fixed ? [...fixed.slice(0, 3), fixed[3]! + 1].join('.') : `10.231.${subnet}.${base + 1}`;
  const peerAddress = fixed ? [...fixed.slice(0, 3), fixed[3]! + 2].join('.') : `10.231.${subnet}.${base + 2}`;
  const sh = async (...args: string[]): Promise<void> => { await run('ip', args); };
  await sh('netns', 'add', ns);
  try {
    await sh('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf);
    await sh('link', 'set', peerIf, 'netns', ns);
    await sh('addr', 'add', `${hostAddress}/30`, 'dev', hostIf);
    await sh('link', 'set', hostIf, 'up');
    await sh('netns', 'exec', ns, 'ip', 'addr', 'add', `${peerAddress}/30`, 'dev', peerIf);
    await sh('netns', 'exec', ns, 'ip', 'link', 'set', peerIf, 'up');
    await sh('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  } catch (err) {
    await run('ip', ['link', 'del', hostIf]).catch(() => undefined);
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    throw err;
  }
  return {
    hostAddress,
    peerAddress,
    runNode(script, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
        child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('exit', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve(out);
          else reject(new Error(`remote script failed (${code}): ${err}`));
        });
      });
    },
    async destroy() {
      await run('ip', ['link', 'del', hostIf]).catch(() => undefined);
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    },
  };
}

/** True when this process may create network namespaces (root with CAP_NET_ADMIN/CAP_SYS_ADMIN). */
export async function canCreateNetns(): Promise<boolean> {
  const ns = `aiagent-probe-${process.pid}`;
  try {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['netns', 'del', ns]);
    return true;
  } catch {
    return false;
  }
}
