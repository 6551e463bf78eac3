// Test support: the images the deployment test builds FROM, assembled from this Debian 12 host's own files,
// since no registry is reachable. Each is a directory laid out like a Debian root (merged /usr) holding only
// what is named below plus the shared libraries `ldd` says those need, imported into the private dockerd:
// - runtime: Node, the libraries it and every native addon in node_modules load, the files of Debian's
//   pocketsphinx and flite that the local AI server uses, and a busybox shell (the node images have one);
// - installed: the runtime plus this checkout's install at /src (node_modules, the admin web app, the local AI
//   server's helper), what the Dockerfile's INSTALLED argument names on a host without registry access;
// - haproxy: HAProxy, and the perl the compose file's health check of the socket proxy uses.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { REPO_ROOT } from '@ai-agent/common/testing';
import type { DockerHost } from '../docker/docker-host.ts';

const BUSYBOX = '/usr/bin/busybox';
const POCKETSPHINX_MODEL = '/usr/share/pocketsphinx/model/en-us';
const PERL_MODULES = '/usr/lib/x86_64-linux-gnu/perl-base';

/** What the install left in this checkout that the installed image carries (besides the manifests). */
const INSTALL_OUTPUTS = ['node_modules', 'admin-ui/dist/web', 'local-ai-server/build/ps_stream', 'local-ai-server/build/mllr_8k_ulaw.txt'];

/** Why these images cannot be assembled here, or null when they can. */
export function hostImagesUnavailableReason(): string | null {
  for (const output of INSTALL_OUTPUTS) {
    if (!existsSync(join(REPO_ROOT, output))) return `${output} is missing: run scripts/install.sh (it installs and builds)`;
  }
  for (const [file, pkg] of [[BUSYBOX, 'busybox-static'], ['/usr/bin/flite', 'flite'], [POCKETSPHINX_MODEL, 'pocketsphinx-en-us'],
    ['/usr/sbin/haproxy', 'haproxy'], ['/usr/bin/perl', 'perl-base']] as const) {
    if (!existsSync(file)) return `${file} is missing (Debian package ${pkg})`;
  }
  return null;
}

/** The shared libraries a dynamically linked file loads from the system, the ELF interpreter included. */
function systemLibraries(file: string): string[] {
  const ldd = spawnSync('ldd', [file], { encoding: 'utf8' });
  // Static executables and other platforms' binaries: nothing to add.
  if (ldd.status !== 0) return [];
  const libraries: string[] = [];
  for (const line of ldd.stdout.split('\n')) {
    const path = /=>\s*(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
    if (path && !path.startsWith(REPO_ROOT)) libraries.push(path);
  }
  return libraries;
}

/** A Debian-like root directory (merged /usr) holding only the files added to it; other tests build images with it. */
export class Rootfs {
  constructor(readonly dir: string) {
    for (const sub of ['usr/bin', 'usr/sbin', 'usr/lib64', 'usr/lib/x86_64-linux-gnu', 'tmp', 'etc']) mkdirSync(join(dir, sub), { recursive: true });
    chmodSync(join(dir, 'tmp'), 0o1777);
    for (const top of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${top}`, join(dir, top));
  }

  /** The file's content at the path the host knows it by (directories resolved, e.g. /lib -> /usr/lib). */
  private place(path: string): void {
    const target = join(this.dir, realpathSync(dirname(path)), basename(path));
    if (existsSync(target)) return;
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(path, target);
  }

  /** A host executable or library, and the system libraries it needs. */
  addBinary(path: string): this {
    this.place(path);
    this.addLibrariesOf(path);
    return this;
  }

  addLibrariesOf(path: string): this {
    for (const library of systemLibraries(path)) this.place(library);
    return this;
  }

  addTree(path: string): this {
    cpSync(path, join(this.dir, path), { recursive: true, dereference: true });
    return this;
  }

  addShell(): this {
    this.place(BUSYBOX);
    for (const tool of ['sh', 'mkdir']) symlinkSync('busybox', join(this.dir, 'usr/bin', tool));
    return this;
  }

  /** tar arguments archiving this root (its top-level entries, so other members can be added beside them). */
  tarArgs(): string[] {
    return ['-C', this.dir, ...readdirSync(this.dir)];
  }
}

/** Native addons and the libraries they ship, as installed (other platforms' files yield no libraries). */
function nativeFilesInstalled(): string[] {
  const root = join(REPO_ROOT, 'node_modules');
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((file) => /\.node$|\.so(\.\d+)*$/.test(file))
    .map((file) => join(root, file));
}

export interface HostImages {
  runtime: string;
  installed: string;
  haproxy: string;
}

/** Assembles and imports the three images under `workDir`; names them with `prefix`. */
export async function importHostImages(host: DockerHost, workDir: string, prefix: string): Promise<HostImages> {
  const images = { runtime: `${prefix}/runtime:1`, installed: `${prefix}/installed:1`, haproxy: `${prefix}/haproxy:1` };

  const runtime = new Rootfs(join(workDir, 'runtime-rootfs')).addBinary(realpathSync(process.execPath)).addShell();
  for (const file of nativeFilesInstalled()) runtime.addLibrariesOf(file);
  runtime.addBinary('/usr/bin/flite').addLibrariesOf(join(REPO_ROOT, 'local-ai-server/build/ps_stream')).addTree(POCKETSPHINX_MODEL);
  await host.importTar(runtime.tarArgs(), images.runtime);

  // The checkout's members go under /src; GNU tar's --transform applies to every member, so the root's entries
  // are named without "./" and only the checkout's (named with it) match. Link targets stay as they are.
  const manifests = ['package.json', 'package-lock.json', '.npmrc', ...readdirSync(REPO_ROOT)
    .filter((ws) => existsSync(join(REPO_ROOT, ws, 'package.json')) && ws !== 'node_modules').map((ws) => `${ws}/package.json`)];
  await host.importTar([...runtime.tarArgs(), '-C', REPO_ROOT, '--transform', 's,^\\./,src/,rSh',
    ...[...manifests, ...INSTALL_OUTPUTS].map((path) => `./${path}`)], images.installed);

  const haproxy = new Rootfs(join(workDir, 'haproxy-rootfs')).addBinary('/usr/sbin/haproxy').addBinary('/usr/bin/perl').addTree(PERL_MODULES);
  await host.importTar(haproxy.tarArgs(), images.haproxy);
  return images;
}
