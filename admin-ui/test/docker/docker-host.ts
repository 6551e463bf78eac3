// Test support: a private dockerd (vfs storage unless asked otherwise, no iptables, no bridge, everything under one
// temp dir), images imported from rootfs tarballs (a tiny busybox-static one), and HAProxy running the repo's
// read-only proxy config.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort, REPO_ROOT } from '@ai-agent/common/testing';
import Docker from 'dockerode';

const BUSYBOX = '/usr/bin/busybox';
export const IMAGE = 'ai-agent-test/busybox:1';

/** Why a private dockerd cannot run here, or null when it can. */
export function dockerdUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return 'dockerd needs root (run the tests as root, as CI does)';
  if (spawnSync('dockerd', ['--version']).status !== 0) return 'dockerd is not installed (Debian package docker.io)';
  return null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Answers with the status and body of one raw request, path sent exactly as given (no normalisation). */
export function rawRequest(target: { socketPath?: string; port?: number }, method: string, path: string, headers: Record<string, string> = {}):
  Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, host: '127.0.0.1', method, path, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.end();
  });
}

export interface DockerdOptions {
  /**
   * vfs copies every layer whole: right for a few MB of busybox. Real images (hundreds of MB over many layers)
   * want overlay2; a host whose temp dir cannot carry it falls back to vfs.
   */
  storageDriver?: 'vfs' | 'overlay2';
  /** Keeps images and containers in a tmpfs of this size (e.g. "4g"): tens of thousands of files gone at once. */
  tmpfsSize?: string;
}

export class DockerHost {
  /** Everything dockerd keeps lives here; short, since its sockets' paths must fit in 108 bytes. */
  dir = '';
  socket = '';
  /** Straight to dockerd (set by start()): only the test itself uses this, to set the stage. */
  direct!: Docker;
  private dockerd: ChildProcess | null = null;
  private haproxy: ChildProcess | null = null;
  proxyPort = 0;
  log = '';

  async start(options: DockerdOptions = {}): Promise<void> {
    try {
      await this.startDockerd(options);
    } catch (err) {
      if ((options.storageDriver ?? 'vfs') === 'vfs') throw err;
      await this.stop();
      // On disk: vfs stores every layer whole, more than a tmpfs sized for overlay2 holds.
      await this.startDockerd({ storageDriver: 'vfs' });
    }
  }

  private async startDockerd(options: DockerdOptions): Promise<void> {
    this.dir = mkdtempSync('/tmp/aiadm-docker-');
    this.socket = join(this.dir, 'docker.sock');
    this.direct = new Docker({ socketPath: this.socket });
    for (const sub of ['data', 'exec']) mkdirSync(join(this.dir, sub));
    if (options.tmpfsSize) {
      const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${options.tmpfsSize},mode=0700`, 'tmpfs', join(this.dir, 'data')]);
      if (mounted.status !== 0) throw new Error(`mounting a tmpfs for dockerd failed: ${mounted.stderr.toString()}`);
    }
    this.dockerd = spawn('dockerd', [
      `--storage-driver=${options.storageDriver ?? 'vfs'}`, '--iptables=false', '--ip6tables=false', '--bridge=none', '--ip-forward=false',
      `--data-root=${join(this.dir, 'data')}`, `--exec-root=${join(this.dir, 'exec')}`,
      `--pidfile=${join(this.dir, 'dockerd.pid')}`, `-H`, `unix://${this.socket}`,
      '--shutdown-timeout=1', '--log-level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer): void => { this.log = (this.log + d.toString()).slice(-4000); };
    this.dockerd.stdout!.on('data', collect);
    this.dockerd.stderr!.on('data', collect);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.dockerd.exitCode !== null) throw new Error(`dockerd exited: ${this.log}`);
      const ok = await rawRequest({ socketPath: this.socket }, 'GET', '/_ping').then((r) => r.status === 200, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`dockerd did not answer within 30 s: ${this.log}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A busybox-static rootfs (2 MB) imported as an image: no registry, no network. */
  async importImage(): Promise<void> {
    if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing (Debian package busybox-static)`);
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
    for (const tool of ['sh', 'sleep', 'echo']) symlinkSync('busybox', join(rootfs, 'bin', tool));
    await this.importTar(['-C', rootfs, '.'], IMAGE);
  }

  /** Imports what `tar -c <args>` archives as the image `name:tag` (streamed: no tarball on disk). */
  async importTar(tarArgs: string[], image: string): Promise<void> {
    const tar = spawn('tar', ['-cf', '-', ...tarArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const exited = once(tar, 'exit');
    const [repo, tag] = image.split(':');
    const stream = await this.direct.importImage(tar.stdout, { repo, tag });
    await new Promise<void>((resolve, reject) => this.direct.modem.followProgress(stream, (err) => (err ? reject(err) : resolve())));
    const [code] = (await exited) as [number | null];
    if (code !== 0) throw new Error(`tar failed (${code}): ${stderr}`);
  }

  /** Runs `script` under /bin/sh in a container without network. */
  async run(name: string, script: string, labels: Record<string, string>): Promise<string> {
    const container = await this.direct.createContainer({
      name,
      Image: IMAGE,
      Cmd: ['/bin/sh', '-c', script],
      Labels: labels,
      HostConfig: { NetworkMode: 'none' },
    });
    await container.start();
    return container.id;
  }

  async startProxy(): Promise<void> {
    this.proxyPort = await freePort();
    this.haproxy = spawn('haproxy', ['-W', '-db', '-f', join(REPO_ROOT, 'deploy/docker-proxy/haproxy.cfg')], {
      env: { PATH: process.env.PATH, DOCKER_PROXY_BIND: `127.0.0.1:${this.proxyPort}`, DOCKER_SOCKET: this.socket },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    this.haproxy.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (this.haproxy.exitCode !== null) throw new Error(`haproxy exited: ${out}`);
      const ok = await rawRequest({ port: this.proxyPort }, 'GET', '/_ping').then((r) => r.status === 200, () => false);
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`haproxy did not answer within 10 s: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops everything started, even after a failed start; safe to call twice. */
  async stop(): Promise<void> {
    if (this.haproxy) {
      this.haproxy.kill('SIGTERM');
      await waitForExit(this.haproxy, 3000);
    }
    if (this.dockerd && this.dockerd.exitCode === null) {
      const containers = await this.direct.listContainers({ all: true }).catch(() => []);
      await Promise.all(containers.map((c) => this.direct.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      this.dockerd.kill('SIGTERM');
      await waitForExit(this.dockerd, 10_000);
    }
    if (!this.dir) return;
    // Mounts dockerd left behind (if it died hard) would make the removal fail part-way: unmount first.
    spawnSync('sh', ['-c', `grep -o ' ${this.dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
