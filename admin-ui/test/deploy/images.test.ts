// The container deployment for real: deploy/docker/Dockerfile builds the three service images on a private
// dockerd from base images assembled out of this host's files (no registry here; see host-images.ts), with the
// repository as build context plus secrets planted where .dockerignore must keep them out; then Compose runs
// the repository's docker-compose.yml (healthchecks made frequent by an override, nothing else changed) and the
// tests look at what runs: health, users, read-only roots, the networking, the Docker socket proxy.
// The Dockerfile's `install` and `speech-runtime` stages need the npm registry and Debian's archive: not run here.
// (In the admin UI's workspace because the private dockerd support and dockerode live there.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { freePort, REPO_ROOT } from '@ai-agent/common/testing';
import { DockerHost, dockerdUnavailableReason } from '../docker/docker-host.ts';
import { composeUnavailableReason, REQUIRED_ENV, runCompose } from './compose.ts';
import { hostImagesUnavailableReason, importHostImages } from './host-images.ts';

/** Debian's docker.io CLI: it builds with the BuildKit of the dockerd it talks to. */
const DOCKER_CLI = '/usr/bin/docker';
const SERVICES = ['engine', 'local-ai-server', 'admin-ui'] as const;
const APP_USER = '10001';
const CONTEXT_IMAGE = 'ai-agent-test/context:1';
const skip = dockerdUnavailableReason() ?? composeUnavailableReason() ?? hostImagesUnavailableReason()
  ?? (spawnSync(DOCKER_CLI, ['--version']).status === 0 ? null : `${DOCKER_CLI} is missing (Debian package docker.io)`);

/**
 * Planted secrets: this prefix and the planted file's number (three digits), so a leak names the file. And a value
 * that must reach the images (proving the scan finds what is there).
 */
const SECRET = `planted-secret-${randomBytes(12).toString('hex')}-`;
const COPIED = `planted-copied-${randomBytes(12).toString('hex')}`;
/**
 * Where secrets and state sit in a working copy, each a file .dockerignore must keep out of the build context: at
 * the root (what the `install` stage's `COPY . .` would take) and inside folders the service images copy whole.
 */
const PLANTED = ['.env', '.env.2026-01-01T00-00-00-000Z.bak', 'config/ai-agent.yaml.2026-01-01T00-00-00-000Z.bak', 'data/admin.sqlite',
  'secrets/openai_api_key', 'node_modules/planted/index.js', '.git/planted', 'admin-ui/test-artifacts/planted.txt',
  'engine/src/.env', 'engine/src/.env.2026-01-01T00-00-00-000Z.bak', 'admin-ui/src/server/settings.env', 'common/src/calls.sqlite',
  'common/src/calls.sqlite-wal', 'local-ai-server/src/state.db', 'local-ai-server/src/server.log', 'engine/src/tls/server.key',
  'engine/src/tls/server.pem', 'engine/models/planted.gguf', 'engine/models/planted.onnx', 'engine/src/node_modules/planted/index.js',
  'engine/src/test/planted.ts', 'admin-ui/src/server/test-artifacts/planted.txt', 'engine/src/planted.wav'];

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.end();
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The build context: a copy of this checkout (20 MB without node_modules, whose exclusion a planted one shows) plus planted files. */
function buildContext(dir: string): string {
  const context = join(dir, 'context');
  mkdirSync(context);
  const entries = readdirSync(REPO_ROOT).filter((entry) => entry !== 'node_modules').map((entry) => join(REPO_ROOT, entry));
  const copied = spawnSync('cp', ['-a', ...entries, context]);
  if (copied.status !== 0) throw new Error(`cp -a failed: ${copied.stderr.toString()}`);
  const plant = (path: string, text: string): void => {
    mkdirSync(dirname(join(context, path)), { recursive: true });
    writeFileSync(join(context, path), text);
  };
  PLANTED.forEach((path, i) => plant(path, `OPENAI_API_KEY=${SECRET}${String(i).padStart(3, '0')}\n`));
  plant('engine/src/planted.ts', `export const copied = '${COPIED}';\n`);
  return context;
}

describe('container images and docker-compose.yml on a private dockerd', { skip: skip ?? false, timeout: 300_000 }, () => {
  const host = new DockerHost();
  const project = `aiagentdeploy${process.pid}`;
  const tag = 'test';
  const ports = { health: 0, admin: 0, localWs: 0, audiosocket: 0, mediaWs: 0 };
  let work = '';
  let context = '';
  let composeEnv: Record<string, string> = {};
  let overrideFile = '';
  let baseSize = 0;
  const image = (service: string): string => `asterisk-ai-agent/${service}:${tag}`;

  /** `docker build` of `target` (a stage of deploy/docker/Dockerfile, or another Dockerfile's path) in the context. */
  async function build(target: string, tagged: string, args: Record<string, string>): Promise<void> {
    const file = target.startsWith('/') ? ['-f', target] : ['-f', 'deploy/docker/Dockerfile', '--target', target];
    const child = spawn(DOCKER_CLI, ['build', '--network', 'none', '--progress', 'plain', ...file, '-t', tagged,
      ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), '.'],
    { cwd: context, env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${host.socket}`, DOCKER_BUILDKIT: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`docker build ${file.join(' ')} failed:\n${output.slice(-4000)}`);
  }

  /** The project's containers by compose service name. */
  async function containers(): Promise<Map<string, { id: string; status: string }>> {
    const listed = await host.direct.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
    return new Map(listed.map((c) => [c.Labels['com.docker.compose.service']!, { id: c.Id, status: c.Status }]));
  }

  /** Runs a command in a running container; its exit code and output. */
  async function exec(service: string, cmd: string[]): Promise<{ code: number; output: string }> {
    const { id } = (await containers()).get(service)!;
    const run = await host.direct.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await run.start({});
    const sink = new PassThrough();
    let output = '';
    sink.on('data', (d: Buffer) => { output += d.toString(); });
    host.direct.modem.demuxStream(stream, sink, sink);
    await new Promise((resolve) => stream.on('end', resolve));
    const { ExitCode } = await run.inspect();
    return { code: ExitCode ?? -1, output };
  }

  before(async () => {
    work = mkdtempSync('/tmp/aiagent-deploy-');
    // About 2 GB of layers: in memory, so nothing is written to disk and the teardown is one unmount.
    await host.start({ storageDriver: 'overlay2', tmpfsSize: '4g' });
    const base = await importHostImages(host, work, 'ai-agent-test');
    baseSize = (await host.direct.getImage(base.runtime).inspect()).Size;
    context = buildContext(work);
    const args = { BASE_IMAGE: base.runtime, SPEECH_BASE: base.runtime, INSTALLED: base.installed };
    // One at a time: the first builds the shared `staged` stage, the others take it from the build cache.
    for (const service of SERVICES) await build(service, image(service), args);
    // The whole build context as the daemon receives it, as an image: what `COPY . .` would see.
    writeFileSync(join(work, 'context.Dockerfile'), 'FROM scratch\nCOPY . /context/\n');
    await build(join(work, 'context.Dockerfile'), CONTEXT_IMAGE, {});

    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    composeEnv = {
      DOCKER_HOST: `unix://${host.socket}`,
      ...REQUIRED_ENV,
      DOCKER_GID: String(statSync(host.socket).gid),
      DOCKER_SOCKET: host.socket,
      HAPROXY_IMAGE: base.haproxy,
      AI_AGENT_IMAGE_TAG: tag,
      COMPOSE_PROJECT_NAME: project,
      // Nothing answers here: the engine keeps waiting for Asterisk, which is not what is tested.
      ARI_URL: 'http://127.0.0.1:9',
      HEALTH_PORT: String(ports.health),
      ADMIN_PORT: String(ports.admin),
      LOCAL_WS_PORT: String(ports.localWs),
      AUDIOSOCKET_PORT: String(ports.audiosocket),
      MEDIA_WS_PORT: String(ports.mediaWs),
    };
    // Health checks every second instead of every 30 s; nothing else differs from the repository's file.
    overrideFile = join(work, 'health-override.yml');
    writeFileSync(overrideFile, `services:\n${['ai-engine', 'local-ai-server', 'admin-ui', 'docker-socket-proxy']
      .map((s) => `  ${s}:\n    healthcheck: { interval: 1s }\n`).join('')}`);
    await runCompose(context, [overrideFile], composeEnv, ['-p', project, 'up', '-d', '--no-build']);
    await until('every service healthy', 150_000, async () => {
      const all = await containers();
      return all.size === 4 && [...all.values()].every((c) => c.status.includes('(healthy)')) ? all : undefined;
    }).catch(async (err: Error) => {
      const logs = await runCompose(context, [overrideFile], composeEnv, ['-p', project, 'logs', '--tail', '30']).catch((e: Error) => e.message);
      throw new Error(`${err.message}\n${[...(await containers()).entries()].map(([s, c]) => `${s}: ${c.status}`).join('\n')}\n${logs}`);
    });
  });

  after(async () => {
    // What `docker-compose down` would do, without starting Compose again: the containers, then the network (its
    // bridge would otherwise stay on this host); the volumes go with dockerd's tmpfs.
    const all = await containers().catch(() => new Map<string, { id: string }>());
    await Promise.all([...all.values()].map((c) => host.direct.getContainer(c.id).remove({ force: true }).catch(() => undefined)));
    const networks = await host.direct.listNetworks({ filters: { label: [`com.docker.compose.project=${project}`] } }).catch(() => []);
    await Promise.all(networks.map((n) => host.direct.getNetwork(n.Id).remove().catch(() => undefined)));
    await host.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('builds every service image to run as an unprivileged user with a health check', async (t) => {
    const mb = (bytes: number): string => `${Math.round(bytes / 1e6)} MB`;
    for (const service of SERVICES) {
      const info = await host.direct.getImage(image(service)).inspect();
      assert.equal(info.Config.User, `${APP_USER}:${APP_USER}`, service);
      assert.deepEqual(info.Config.Healthcheck?.Test, ['CMD', 'node', 'deploy/docker/healthcheck.mjs', service], service);
      t.diagnostic(`${service}: ${mb(info.Size)}, of which ${mb(info.Size - baseSize)} above the base image`);
    }
  });

  it('keeps every file .dockerignore names out of the build context and out of every layer of every image', async () => {
    // `docker save` of the context image and of the three service images: every layer, uncompressed. The value
    // planted in copied sources must be found in both (the scan sees file contents); no planted secret anywhere.
    const scan = async (names: string[]): Promise<{ leaked: string[]; copiedFound: boolean }> => {
      // dockerode's getImages (GET /images/get, several names: shared layers once) is missing from its types.
      const docker = host.direct as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> };
      const leaked = new Set<string>();
      let copiedFound = false;
      const overlap = Math.max(SECRET.length + 3, COPIED.length);
      let tail = Buffer.alloc(0);
      for await (const chunk of (await docker.getImages({ names })) as AsyncIterable<Buffer>) {
        const window = Buffer.concat([tail, chunk]);
        for (let at = window.indexOf(SECRET); at !== -1; at = window.indexOf(SECRET, at + 1)) {
          // A number cut off at the window's end is read whole from the next window (the tail carries it over).
          const id = /^\d{3}/.exec(window.toString('latin1', at + SECRET.length, at + SECRET.length + 3))?.[0];
          if (id) leaked.add(PLANTED[Number(id)] ?? id);
        }
        copiedFound ||= window.includes(COPIED);
        tail = window.subarray(Math.max(0, window.length - overlap));
      }
      return { leaked: [...leaked].sort(), copiedFound };
    };
    const context = await scan([CONTEXT_IMAGE]);
    assert.ok(context.copiedFound, 'the value planted in copied sources is in the build context');
    assert.deepEqual(context.leaked, [], 'planted files in the build context');
    const images = await scan(SERVICES.map(image));
    assert.ok(images.copiedFound, 'the value planted in copied sources is in the engine image');
    assert.deepEqual(images.leaked, [], 'planted files in a service image');
  });

  it('ships production dependencies only: no dev tool, no other service\'s packages, no other platform\'s binaries, no TypeScript', async () => {
    // npm's own verdict: the lockfile flags the packages only development needs (a name is dev-only when every
    // copy of it is); the TypeScript loader (tsx) and esbuild are among them: the services run compiled.
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devFlags = new Map<string, boolean[]>();
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path.includes('node_modules/')) continue;
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      devFlags.set(name, [...(devFlags.get(name) ?? []), entry.dev === true]);
    }
    const devOnly = new Set([...devFlags].filter(([name, flags]) => flags.every(Boolean)).map(([name]) => name));
    assert.ok(devOnly.has('typescript') && devOnly.has('vite') && devOnly.has('fast-check') && devOnly.has('tsx') && devOnly.has('esbuild'));
    const list = "const fs = require('fs'); const top = fs.readdirSync('node_modules'); const names = top.flatMap((n) =>" +
      " n.startsWith('@') ? fs.readdirSync('node_modules/' + n).map((m) => n + '/' + m) : [n]);" +
      " let onnx = []; try { onnx = fs.readdirSync('node_modules/onnxruntime-node/bin', { recursive: true }).filter((p) => p.split('/').length === 3); } catch {}" +
      " const sources = fs.readdirSync('.', { recursive: true }).filter((p) => !p.startsWith('node_modules/') && p.endsWith('.ts'));" +
      ' console.log(JSON.stringify({ names, onnx, sources }))';
    const installed: Record<string, { names: string[]; onnx: string[]; sources: string[] }> = {};
    for (const service of ['ai-engine', 'local-ai-server', 'admin-ui']) installed[service] = JSON.parse((await exec(service, ['node', '-e', list])).output);
    for (const [service, { names, sources }] of Object.entries(installed)) {
      assert.deepEqual(names.filter((n) => devOnly.has(n)), [], `${service}: dev dependencies`);
      assert.deepEqual(sources, [], `${service}: TypeScript sources (the services run compiled)`);
    }
    // Each declared by one service alone (the engine uses the local AI server's client, not its optional engines).
    const owners = { 'onnxruntime-node': 'ai-engine', dockerode: 'admin-ui', 'sherpa-onnx-node': 'local-ai-server' };
    for (const [pkg, owner] of Object.entries(owners)) {
      for (const [service, { names }] of Object.entries(installed)) assert.equal(names.includes(pkg), service === owner, `${pkg} in ${service}`);
    }
    assert.deepEqual(installed['ai-engine']!.onnx, [`napi-v6/${process.platform}/${process.arch}`]);
  });

  it('answers on each health endpoint the compose file publishes, on loopback', async () => {
    assert.equal((await get(ports.health, '/health')).status, 200);
    assert.equal((await get(ports.localWs, '/health')).status, 200);
    assert.equal((await get(ports.admin, '/')).status, 200);
  });

  it('lets the engine on the host network reach the local AI server through its published port, with the token', async () => {
    // /ready lists what the engine waits for: Asterisk (absent here), and `providers` until the local AI answers.
    const waiting = await until('the engine to reach the local AI server', 60_000, async () => {
      const ready = JSON.parse((await get(ports.health, '/ready')).body) as { waiting?: string[] };
      return ready.waiting && !ready.waiting.includes('providers') ? ready.waiting : undefined;
    });
    assert.deepEqual(waiting, ['ari']);
  });

  it('runs every process of every container as uid 10001, never root', async () => {
    for (const [service, { id }] of await containers()) {
      const top = (await host.direct.getContainer(id).top({ ps_args: '-o pid,uid,comm' })) as { Titles: string[]; Processes: string[][] };
      const column = top.Titles.indexOf('UID');
      const uids = top.Processes.map((p) => p[column]);
      assert.ok(uids.length > 0, service);
      assert.deepEqual([...new Set(uids)], [APP_USER], `${service}: ${JSON.stringify(top.Processes)}`);
    }
  });

  it('mounts every root filesystem read-only: a write fails, /tmp and the data volumes take writes', async () => {
    // One process per container tries each path and reports what happened.
    const tryWrites = async (service: string, paths: string[]): Promise<Record<string, string>> => {
      const script = "const r = {}; for (const p of process.argv.slice(1)) { try { require('fs').writeFileSync(p, 'x'); r[p] = 'written'; }" +
        ' catch (e) { r[p] = e.code; } } console.log(JSON.stringify(r))';
      return JSON.parse((await exec(service, ['node', '-e', script, ...paths])).output) as Record<string, string>;
    };
    for (const service of ['ai-engine', 'admin-ui']) {
      assert.deepEqual(await tryWrites(service, ['/app/written', '/app/config/written', '/tmp/written', '/app/data/written']),
        { '/app/written': 'EROFS', '/app/config/written': service === 'ai-engine' ? 'EROFS' : 'EACCES', '/tmp/written': 'written', '/app/data/written': 'written' },
        service);
    }
    assert.deepEqual(await tryWrites('local-ai-server', ['/app/written', '/tmp/written']), { '/app/written': 'EROFS', '/tmp/written': 'written' });
    const proxy = await exec('docker-socket-proxy', ['perl', '-e', 'open(my $f, ">", "/written") or die "$!\\n"']);
    assert.match(proxy.output, /Read-only file system/);
  });

  it('gives the Docker socket to the proxy alone, and the admin UI only the read-only subset through it', async () => {
    const all = await containers();
    for (const [service, { id }] of all) {
      const mounts = (await host.direct.getContainer(id).inspect()).Mounts;
      const socket = mounts.find((m) => m.Source === host.socket);
      if (service === 'docker-socket-proxy') assert.equal(socket?.RW, false, 'the proxy mounts the socket read-only');
      else assert.equal(socket, undefined, `${service} mounts the Docker socket`);
    }
    const ask = (method: string, path: string): string[] => ['node', '-e',
      `require('http').request({ socketPath: '/run/docker-proxy/docker.sock', method: ${JSON.stringify(method)}, path: ${JSON.stringify(path)} },` +
      ' (res) => { console.log(res.statusCode); process.exit(0); }).end()'];
    assert.equal((await exec('admin-ui', ask('GET', '/containers/json'))).output.trim(), '200');
    assert.equal((await exec('admin-ui', ask('POST', '/containers/create'))).output.trim(), '403');
  });
});
