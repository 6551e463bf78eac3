import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { registerSecret } from '../log/scrubber.ts';
import { freePort } from './process.ts';

const run = promisify(execFile);

/**
 * A real PostgreSQL server for tests, from the distribution's packages, owned by one test file: its own data
 * directory in a temporary folder, TCP on 127.0.0.1 only, its Unix socket inside that folder.
 */
export interface PostgresServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The login role tests connect as (owner of every database made by createDatabase). */
  readonly user: string;
  readonly password: string;
  /** PEM of the CA that signed the server's certificate (with `tls: true`): for sslrootcert. */
  readonly caFile?: string;
  /** A fresh, empty database owned by `user`; resolves to its connection URL (password included). */
  createDatabase(): Promise<string>;
  /** Runs SQL as the superuser over the Unix socket; resolves to psql's unaligned, tuples-only output. */
  admin(sql: string, database?: string): Promise<string>;
  /** Every row of the database as SQL (pg_dump --data-only): what is stored, for "never on disk" checks. */
  dump(database: string): Promise<string>;
  /** Stops the server (fast shutdown: connections are cut), keeping its data; `up()` starts it again on the same port. Both idempotent. */
  down(): Promise<void>;
  up(): Promise<void>;
  /** Stops the server and removes every file. */
  destroy(): Promise<void>;
}

export interface PostgresServerOptions {
  /** Serve TLS too (`ssl=on`), with a throwaway CA and a certificate for 127.0.0.1 and localhost. */
  tls?: boolean;
}

/** The newest installed server binaries (Debian: /usr/lib/postgresql/<major>/bin), or POSTGRES_BIN_DIR. */
function serverBinaries(): string {
  const fromEnv = process.env.POSTGRES_BIN_DIR;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, 'postgres'))) throw new Error(`POSTGRES_BIN_DIR=${fromEnv} holds no postgres binary`);
    return fromEnv;
  }
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = majors.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
  if (!bin) {
    throw new Error(
      'PostgreSQL server binaries not found (no /usr/lib/postgresql/<version>/bin/initdb): install the distribution package ' +
        '"postgresql" (listed in scripts/apt-packages.txt) or set POSTGRES_BIN_DIR',
    );
  }
  return bin;
}

/**
 * PostgreSQL refuses to run as root. As root, the server runs as the `postgres` system user (the package creates
 * it), otherwise as the current user; either way through setpriv, which execs in place (the child is the server
 * itself) and has the kernel kill it should the test process die without stopping it.
 */
async function serverAccount(): Promise<{ uid: number; gid: number; wrap: (cmd: string, args: string[]) => [string, string[]] }> {
  const me = userInfo();
  const orphanSafe = ['--pdeathsig', 'SIGKILL'];
  if (me.uid !== 0) return { uid: me.uid, gid: me.gid, wrap: (cmd, args) => ['setpriv', [...orphanSafe, '--', cmd, ...args]] };
  let ids: string[];
  try {
    ids = (await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])).map((r) => r.stdout.trim());
  } catch {
    throw new Error('running as root, and there is no "postgres" system user to run the PostgreSQL server as (install the "postgresql" package)');
  }
  const [uid, gid] = ids.map(Number) as [number, number];
  return { uid, gid, wrap: (cmd, args) => ['setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', ...orphanSafe, '--', cmd, ...args]] };
}

/** A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const path = (name: string): string => join(dir, name);
  const ssl = (...args: string[]): Promise<unknown> => run('openssl', args);
  await ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test CA', '-keyout', path('ca.key'), '-out', path('ca.pem'));
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', path('server.key'), '-out', path('server.csr'));
  writeFileSync(path('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await ssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', path('san.ext'), '-out', path('server.pem'));
  return { ca: path('ca.pem'), cert: path('server.pem'), key: path('server.key') };
}

/** Starts a server; reject with a reason an operator can act on when the binaries or the user are missing. */
export async function startPostgres(options: PostgresServerOptions = {}): Promise<PostgresServer> {
  const bin = serverBinaries();
  const account = await serverAccount();
  const root = mkdtempSync(join(tmpdir(), 'pg-test-'));
  const data = join(root, 'data');
  const sockets = join(root, 'sock');
  const tlsDir = join(root, 'tls');
  mkdirSync(sockets);
  mkdirSync(tlsDir);
  const superPassword = randomBytes(16).toString('hex');
  const password = randomBytes(16).toString('hex');
  registerSecret(superPassword);
  registerSecret(password);
  writeFileSync(join(root, 'pwfile'), `${superPassword}\n`);
  const certs = options.tls ? await makeCertificates(tlsDir) : undefined;
  if (certs) chmodSync(certs.key, 0o600);
  for (const path of [root, sockets, tlsDir, join(root, 'pwfile'), ...(certs ? [certs.cert, certs.key] : [])]) {
    chownSync(path, account.uid, account.gid);
  }
  chmodSync(root, 0o700);

  const asServer = async (cmd: string, args: string[]): Promise<void> => {
    const [file, argv] = account.wrap(join(bin, cmd), args);
    await run(file, argv, { cwd: root });
  };
  // No fsync: a test server's data need not survive a power cut, and initdb is several times faster without.
  await asServer('initdb', ['-D', data, '-U', 'postgres', '--pwfile', join(root, 'pwfile'), '--auth-local=trust',
    '--auth-host=scram-sha-256', '--no-sync', '--no-locale', '-E', 'UTF8']);
  const port = await freePort();
  const settings = [
    '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-k', sockets,
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
    '-c', 'max_connections=60', '-c', 'shared_buffers=16MB', '-c', 'dynamic_shared_memory_type=mmap',
    ...(certs ? ['-c', 'ssl=on', '-c', `ssl_cert_file=${certs.cert}`, '-c', `ssl_key_file=${certs.key}`] : []),
  ];

  let server: ChildProcess | undefined;
  let output = '';
  const up = async (): Promise<void> => {
    if (server && server.exitCode === null && server.signalCode === null) return;
    const [file, argv] = account.wrap(join(bin, 'postgres'), ['-D', data, ...settings]);
    const child = spawn(file, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    output = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: string): void => {
        output += d;
        if (output.includes('database system is ready to accept connections')) resolve();
      };
      child.stdout!.setEncoding('utf8').on('data', onData);
      child.stderr!.setEncoding('utf8').on('data', onData);
      child.once('exit', (code) => reject(new Error(`postgres exited (${code}) before it was ready: ${output.slice(-2000)}`)));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      await ready;
    } finally {
      clearTimeout(timer);
    }
  };
  const down = async (): Promise<void> => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    // SIGINT: fast shutdown (clients disconnected, a clean stop); SIGKILL if it takes too long.
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const psql = async (args: string[], database: string): Promise<string> => {
    const { stdout } = await run(join(bin, 'psql'), ['-h', sockets, '-p', String(port), '-U', 'postgres', '-d', database, '-X', '-q', ...args], {
      maxBuffer: 256 * 1024 * 1024,
    });
    return stdout;
  };
  const admin = (sql: string, database = 'postgres'): Promise<string> =>
    psql(['-v', 'ON_ERROR_STOP=1', '-A', '-t', '-c', sql], database).then((out) => out.trim());

  try {
    await up();
    await admin(`CREATE ROLE app LOGIN PASSWORD '${password}'`);
  } catch (err) {
    await down();
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  let databases = 0;
  return {
    host: '127.0.0.1',
    port,
    user: 'app',
    password,
    caFile: certs?.ca,
    async createDatabase() {
      const name = `t${++databases}`;
      await admin(`CREATE DATABASE ${name} OWNER app`);
      return `postgresql://app:${password}@127.0.0.1:${port}/${name}`;
    },
    admin,
    async dump(database) {
      const { stdout } = await run(join(bin, 'pg_dump'), ['-h', sockets, '-p', String(port), '-U', 'postgres', '--data-only', database], {
        maxBuffer: 256 * 1024 * 1024,
      });
      return stdout;
    },
    down,
    up,
    async destroy() {
      await down();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
