// The reverse-proxy examples (deploy/nginx/ai-agent-admin.conf, deploy/caddy/Caddyfile) in front of the real admin
// UI: Debian's nginx and caddy run them as shipped, with only the site-specific values a deployment edits (name,
// ports, certificate files, the admin UI's address) set to this test's, and, for the mutual-TLS variants, the
// commented client-certificate lines enabled. Certificates come from a throwaway CA made with openssl.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '@ai-agent/common/testing';
import { adminSession, startAdmin, type AdminProcess } from '../api/admin-process.ts';

const NAME = 'admin.test';
const has = (tool: string): boolean => spawnSync(tool, ['-v'], { stdio: 'ignore' }).status === 0 || spawnSync(tool, ['version'], { stdio: 'ignore' }).status === 0;
/** Headers the admin UI sets itself: a proxy that added them too would send them twice. */
const APP_HEADERS = ['content-security-policy', 'x-frame-options', 'x-content-type-options', 'referrer-policy', 'cross-origin-opener-policy',
  'cross-origin-resource-policy', 'cross-origin-embedder-policy'];

interface Answer { status: number; headers: Record<string, string[]>; body: string }

/** Every header as a list of its values (a header sent twice has two). */
function headerLists(raw: string[]): Record<string, string[]> {
  const lists: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) (lists[raw[i]!.toLowerCase()] ??= []).push(raw[i + 1]!);
  return lists;
}

interface Tls { ca: Buffer; cert?: Buffer; key?: Buffer }

/** One HTTPS request to 127.0.0.1:port naming the test's site (SNI and Host); `firstBytes` ends it at the first data. */
function fetchTls(port: number, path: string, tls: Tls, opts: { method?: string; headers?: Record<string, string>; firstBytes?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', servername: NAME, ...tls,
      headers: { host: NAME, ...opts.headers }, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
        if (opts.firstBytes) {
          resolve({ status: res.statusCode ?? 0, headers: headerLists(res.rawHeaders), body });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: headerLists(res.rawHeaders), body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.end(opts.method === 'POST' ? '{"username":"nobody","password":"wrong-password"}' : undefined);
  });
}

function fetchPlain(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, headers: { host: NAME }, agent: false }, (res) => {
      res.resume().on('end', () => resolve({ status: res.statusCode ?? 0, headers: headerLists(res.rawHeaders), body: '' }));
    }).on('error', reject).end();
  });
}

function run(tool: string, args: string[], cwd?: string): string {
  const result = spawnSync(tool, args, { cwd, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout + result.stderr;
}

/** A CA, a server certificate for NAME, and a client certificate from a second CA. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]): string => run('openssl', args, dir);
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=test server CA', '-keyout', 'ca.key', '-out', 'ca.crt');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${NAME}`, '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'server.ext'), `subjectAltName=DNS:${NAME}\n`);
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.crt');
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=test client CA', '-keyout', 'clients.key', '-out', 'clients.crt');
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=an operator', '-keyout', 'client.key', '-out', 'client.csr');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'clients.crt', '-CAkey', 'clients.key', '-CAcreateserial', '-days', '2', '-out', 'client.crt');
}

/** Replaces each `from` (which must occur) in `text`. */
function edit(text: string, replacements: Array<[string | RegExp, string]>): string {
  for (const [from, to] of replacements) {
    const next = text.replace(from instanceof RegExp ? from : new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), to);
    assert.notEqual(next, text, `the example no longer contains ${from}`);
    text = next;
  }
  return text;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited: ${output()}`);
    const up = await new Promise<boolean>((resolve) => {
      httpRequest({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => { res.resume(); resolve(true); }).on('error', () => resolve(false)).end();
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`not listening on ${port} within 10 s: ${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startProcess(tool: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; output: () => string } {
  const child = spawn(tool, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { text += d.toString(); });
  return { child, output: () => text.slice(-3000) };
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.on('exit', resolve));
}

describe('reverse-proxy examples in front of the admin UI', () => {
  let admin: AdminProcess;
  let dir = '';
  let cookie = '';
  let ca: Buffer;
  let client: { cert: Buffer; key: Buffer };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'reverse-proxy-'));
    makeCertificates(dir);
    ca = readFileSync(join(dir, 'ca.crt'));
    client = { cert: readFileSync(join(dir, 'client.crt')), key: readFileSync(join(dir, 'client.key')) };
    // As docs/deploy.md says to run it behind a proxy: the proxied name allowed (127.0.0.1 for the test's own
    // login, made straight to it), Secure cookies.
    admin = await startAdmin({ ADMIN_ALLOWED_HOSTS: `${NAME},127.0.0.1`, ADMIN_COOKIE_SECURE: '1' });
    const session = await adminSession(admin);
    cookie = `access=${session.cookie('access')}`;
  });

  after(async () => {
    await admin?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The checks both proxies must pass: TLS in front, headers once, HSTS added, the event stream unbuffered. */
  function commonChecks(port: () => number): void {
    it('serves the admin UI over TLS with HSTS added once and the admin UI\'s own security headers once', async () => {
      const page = await fetchTls(port(), '/', { ca });
      assert.equal(page.status, 200);
      assert.match(page.body, /<html/i);
      assert.deepEqual(page.headers['strict-transport-security'], ['max-age=63072000']);
      for (const name of APP_HEADERS) assert.equal(page.headers[name]?.length, 1, `${name}: ${JSON.stringify(page.headers[name])}`);
      assert.equal(page.headers.server?.some((s) => /\d/.test(s)) ?? false, false, 'no server version is disclosed');
    });

    it('passes the live event stream through as it is written', async () => {
      const started = Date.now();
      const stream = await fetchTls(port(), '/api/events', { ca }, { headers: { cookie }, firstBytes: true });
      assert.equal(stream.status, 200);
      assert.match(stream.headers['content-type']?.[0] ?? '', /^text\/event-stream/);
      assert.match(stream.body, /^retry: 3000/);
      assert.ok(Date.now() - started < 3000, 'the first event arrives at once, not when a buffer fills');
    });
  }

  describe('nginx (deploy/nginx/ai-agent-admin.conf)', { skip: has('nginx') ? false : 'nginx is not installed (Debian package nginx)' }, () => {
    const ports = { https: 0, http: 0 };
    let nginx: ChildProcess | undefined;

    /** A prefix holding the example (edited as a deployment would) inside a minimal main configuration. */
    async function startNginx(name: string, clientCertificates: boolean): Promise<ChildProcess> {
      const prefix = join(dir, name);
      mkdirSync(join(prefix, 'tls'), { recursive: true });
      for (const [from, to] of [['server.crt', 'ai-agent-admin.crt'], ['server.key', 'ai-agent-admin.key'], ['clients.crt', 'ai-agent-admin-clients.crt']]) {
        writeFileSync(join(prefix, 'tls', to!), readFileSync(join(dir, from!)));
      }
      let site = edit(readFileSync(join(REPO_ROOT, 'deploy/nginx/ai-agent-admin.conf'), 'utf8'), [
        ['admin.example.com', NAME],
        [/listen 443 ssl http2;/, `listen 127.0.0.1:${ports.https} ssl http2;`],
        [/listen 80;/, `listen 127.0.0.1:${ports.http};`],
        [/ *listen \[::\]:(80|443)[^;]*;\n/g, ''],
        ['server 127.0.0.1:3003;', `server 127.0.0.1:${admin.port};`],
      ]);
      if (clientCertificates) site = edit(site, [[/#(ssl_client_certificate|ssl_verify_client)/g, '$1']]);
      writeFileSync(join(prefix, 'ai-agent-admin.conf'), site);
      writeFileSync(join(prefix, 'nginx.conf'), [
        `pid ${prefix}/nginx.pid;`, 'events {}', 'http {', '  access_log off;',
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/${t};`),
        '  include ai-agent-admin.conf;', '}', ''].join('\n'));
      const args = ['-e', join(prefix, 'error.log'), '-p', prefix, '-c', join(prefix, 'nginx.conf')];
      assert.match(run('nginx', ['-t', ...args]), /test is successful/);
      const started = startProcess('nginx', [...args, '-g', 'daemon off; user root;']);
      await waitForPort(ports.http, started.child, () => started.output() + readFileSync(join(prefix, 'error.log'), 'utf8'));
      return started.child;
    }

    before(async () => {
      ports.https = await freePort();
      ports.http = await freePort();
      nginx = await startNginx('nginx', false);
    });
    after(() => stopProcess(nginx));

    commonChecks(() => ports.https);

    it('redirects plain HTTP to HTTPS', async () => {
      const plain = await fetchPlain(ports.http, '/calls');
      assert.equal(plain.status, 301);
      assert.deepEqual(plain.headers.location, [`https://${NAME}/calls`]);
    });

    it('answers 429 to a client that keeps trying to log in, before the admin UI sees it', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) statuses.push((await fetchTls(ports.https, '/api/auth/login', { ca }, { method: 'POST', headers: { 'content-type': 'application/json' } })).status);
      // burst 5 at 10 a minute: the first six reach the admin UI (a wrong password: 401), the rest stop here.
      assert.deepEqual(statuses.slice(0, 6), [401, 401, 401, 401, 401, 401]);
      assert.deepEqual(statuses.slice(6), [429, 429]);
    });

    it('with the client-certificate lines enabled, lets in only a browser holding a certificate from the clients\' CA', async () => {
      const saved = { ...ports };
      ports.https = await freePort();
      ports.http = await freePort();
      const strict = await startNginx('nginx-mtls', true);
      try {
        assert.equal((await fetchTls(ports.https, '/', { ca })).status, 400);
        assert.equal((await fetchTls(ports.https, '/', { ca, ...client })).status, 200);
      } finally {
        await stopProcess(strict);
        Object.assign(ports, saved);
      }
    });
  });

  describe('Caddy (deploy/caddy/Caddyfile)', { skip: has('caddy') ? false : 'caddy is not installed (Debian package caddy)' }, () => {
    const ports = { https: 0, http: 0 };
    let caddy: ChildProcess | undefined;

    /**
     * The example with this test's names, ports and files, behind global options a test needs (no admin API
     * listener, loopback only, the test's ports): the example itself has no global options block.
     */
    async function startCaddy(name: string, clientCertificates: boolean): Promise<ChildProcess> {
      const home = join(dir, name);
      mkdirSync(home, { recursive: true });
      let site = edit(readFileSync(join(REPO_ROOT, 'deploy/caddy/Caddyfile'), 'utf8'), [
        ['admin.example.com', NAME],
        ['/etc/caddy/tls/ai-agent-admin.crt', join(dir, 'server.crt')],
        ['/etc/caddy/tls/ai-agent-admin.key', join(dir, 'server.key')],
        ['/etc/caddy/tls/ai-agent-admin-clients.crt', join(dir, 'clients.crt')],
        ['reverse_proxy 127.0.0.1:3003', `reverse_proxy 127.0.0.1:${admin.port}`],
      ]);
      if (clientCertificates) site = edit(site, [[/^(\s*)#(client_auth \{|\tmode |\ttrusted_ca_cert_file |\})/gm, '$1$2']]);
      const file = join(home, 'Caddyfile');
      writeFileSync(file, `{\n\tadmin off\n\tdefault_bind 127.0.0.1\n\thttp_port ${ports.http}\n\thttps_port ${ports.https}\n}\n\n${site}`);
      const env = { PATH: process.env.PATH, HOME: home, XDG_DATA_HOME: home, XDG_CONFIG_HOME: home };
      assert.match(run('caddy', ['validate', '--adapter', 'caddyfile', '--config', file]), /Valid configuration/);
      const started = startProcess('caddy', ['run', '--adapter', 'caddyfile', '--config', file], env);
      await waitForPort(ports.http, started.child, started.output);
      return started.child;
    }

    before(async () => {
      ports.https = await freePort();
      ports.http = await freePort();
      caddy = await startCaddy('caddy', false);
    });
    after(() => stopProcess(caddy));

    commonChecks(() => ports.https);

    it('redirects plain HTTP to HTTPS', async () => {
      const plain = await fetchPlain(ports.http, '/calls');
      assert.equal(plain.status, 308);
      assert.match(plain.headers.location?.[0] ?? '', new RegExp(`^https://${NAME.replace('.', '\\.')}(:\\d+)?/calls$`));
    });

    it('with the client_auth block enabled, lets in only a browser holding a certificate from the clients\' CA', async () => {
      const saved = { ...ports };
      ports.https = await freePort();
      ports.http = await freePort();
      const strict = await startCaddy('caddy-mtls', true);
      try {
        await assert.rejects(fetchTls(ports.https, '/', { ca }));
        assert.equal((await fetchTls(ports.https, '/', { ca, ...client })).status, 200);
      } finally {
        await stopProcess(strict);
        Object.assign(ports, saved);
      }
    });
  });
});
