// The admin UI as a real process on an ephemeral loopback port, with its own database, .env and config file
// in a temporary folder.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeArgs, REPO_ROOT, startService, type ServiceProcess } from '@ai-agent/common/testing';
import { Client } from './http-client.ts';

export const NEW_PASSWORD = 'correct horse battery staple';
export const JWT_SECRET = 'test-jwt-secret-0123456789abcdef0123456789';

export interface AdminProcess {
  service: ServiceProcess;
  port: number;
  dir: string;
  dbPath: string;
  envFile: string;
  configFile: string;
  /** The one-time password printed at first start. */
  firstPassword: string;
  env: Record<string, string>;
  client(defaults?: ConstructorParameters<typeof Client>[1]): Client;
  /** Runs `npm run admin -- …` (the CLI) against this instance's database. */
  cli(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startAdmin(env: Record<string, string> = {}, envFileText = ''): Promise<AdminProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'admin-ui-'));
  const dbPath = join(dir, 'data', 'admin.sqlite');
  const envFile = join(dir, '.env');
  const configFile = join(dir, 'ai-agent.yaml');
  writeFileSync(envFile, envFileText, { mode: 0o600 });
  copyFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), configFile);
  const fullEnv = {
    ADMIN_PORT: '0',
    ADMIN_DB_PATH: dbPath,
    ADMIN_ENV_FILE: envFile,
    AI_AGENT_CONFIG: configFile,
    // No engine unless a test starts one: a closed port answers at once.
    ADMIN_ENGINE_URL: 'http://127.0.0.1:9',
    JWT_SECRET,
    LOG_LEVEL: 'info',
    ...env,
  };
  const service = startService('admin-ui/src/server/main.ts', fullEnv);
  const line = await service.waitFor(/admin UI listening/, 30_000);
  const port = (JSON.parse(line) as { address: { port: number } }).address.port;
  const firstPassword = /one-time password: (\S+)/.exec(service.stderr())?.[1] ?? '';
  const cli = async (args: string[], stdin?: string) => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [...nodeArgs('admin-ui/src/server/cli/admin-cli.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_NO_WARNINGS: '1', ...fullEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.stdin.end(stdin ?? '');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, stdout, stderr };
  };
  return {
    service,
    port,
    dir,
    dbPath,
    envFile,
    configFile,
    firstPassword,
    env: fullEnv,
    client: (defaults) => new Client(port, defaults),
    cli,
    async stop() {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Logs in as the first admin and makes the forced password change: a client ready for everything. */
export async function adminSession(admin: AdminProcess): Promise<Client> {
  const client = admin.client();
  let r = await client.request('/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } });
  if (r.status === 401) {
    r = await client.request('/api/auth/login', { body: { username: 'admin', password: admin.firstPassword } });
    if (r.status !== 200) throw new Error(`first login failed: ${r.status}`);
    const changed = await client.send('POST', '/api/auth/password', { current: admin.firstPassword, next: NEW_PASSWORD });
    if (changed.status !== 204) throw new Error(`password change failed: ${changed.status} ${changed.text}`);
  }
  return client;
}
