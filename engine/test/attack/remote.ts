// Attack clients that run inside the remote namespace (a genuine non-loopback source): each attack is one Node
// script, so many probes cost one process start. Raw sockets, not fetch: an attacker picks every header byte,
// Host included, and may stop half-way through a request.
import { REPO_ROOT, type RemotePeer } from '@ai-agent/common/testing';

/** What a probe saw: the status line's code (0 when none came), the head and the body, and whether the server hung up (not our timeout). */
export interface Seen { status: number; head: string; body: string; bytes: number; closed: boolean }

/** Helpers defined in every remote script; `HOST` is the address the product listens on. */
const PRELUDE = `
import net from 'node:net';
import dgram from 'node:dgram';
const parse = (buf, closed) => {
  const m = /^HTTP\\/1\\.1 (\\d+)/.exec(buf);
  const i = buf.indexOf('\\r\\n\\r\\n');
  const head = i >= 0 ? buf.slice(0, i) : buf;
  let body = i >= 0 ? buf.slice(i + 4) : '';
  if (/^transfer-encoding: *chunked/im.test(head)) {
    let out = '';
    for (let at = 0; ;) {
      const eol = body.indexOf('\\r\\n', at);
      const size = parseInt(body.slice(at, eol), 16);
      if (!(size > 0)) break;
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 4 + size;
    }
    body = out;
  }
  return { status: m ? Number(m[1]) : 0, head, body, bytes: buf.length, closed };
};
/** Writes chunks (a string or bytes each) and waits up to waitMs for the server to close the socket. */
const raw = (port, chunks, waitMs = 15000) => new Promise((resolve) => {
  const s = net.connect(port, HOST);
  let buf = '';
  let timedOut = false;
  s.setEncoding('latin1');
  s.on('data', (d) => { buf += d; });
  s.on('error', () => {});
  const timer = setTimeout(() => { timedOut = true; s.destroy(); }, waitMs);
  s.on('close', () => { clearTimeout(timer); resolve(parse(buf, !timedOut)); });
  s.on('end', () => s.end());
  s.on('connect', () => { for (const c of chunks) s.write(c); });
});
const request = (port, method, path, headers = {}, body = '') => {
  const all = { host: HOST + ':' + port, connection: 'close', ...headers };
  if (body) all['content-length'] = Buffer.byteLength(body);
  const head = method + ' ' + path + ' HTTP/1.1\\r\\n' + Object.entries(all).map(([k, v]) => k + ': ' + v).join('\\r\\n') + '\\r\\n\\r\\n';
  return raw(port, [head + body]);
};
const upgrade = (port, headers = {}) => request(port, 'GET', '/', {
  upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers,
});
`;

/** Runs `body` (top-level await allowed) in the namespace with PRELUDE and `params` as constants; its value is the result. */
export async function attack<T>(peer: RemotePeer, host: string, params: Record<string, unknown>, body: string, timeoutMs = 60_000): Promise<T> {
  const consts = Object.entries(params).map(([k, v]) => `const ${k} = ${JSON.stringify(v)};`).join('\n');
  const script = `const HOST = ${JSON.stringify(host)};\n${consts}\n${PRELUDE}\nconst result = await (async () => {\n${body}\n})();\nprocess.stdout.write(JSON.stringify(result));\nprocess.exit(0);`;
  return JSON.parse(await peer.runNode(script, timeoutMs)) as T;
}

/**
 * A refusal's answer tells an attacker nothing: no stack frame, no file path, none of `needles` (secrets, and
 * what the attacker sent to see whether it comes back).
 */
export function assertGeneric(what: string, seen: Seen, needles: readonly string[]): void {
  const text = `${seen.head}\n${seen.body}`;
  for (const bad of [/\bat [\w.<>]+ \(/, /\/src\/|node_modules|\.ts:\d+/, /stack/i]) {
    if (bad.test(text)) throw new Error(`${what}: the answer holds ${bad}: ${text}`);
  }
  for (const needle of [REPO_ROOT, ...needles]) if (text.includes(needle)) throw new Error(`${what}: the answer echoes "${needle}": ${text}`);
}
