// The canary scan over every service at once: the local AI server, the engine and the admin UI run with planted
// secrets (direct and `_FILE`, with quotes and backslashes) in every place a secret can be, a real call goes
// through them, the operator reads everything through both APIs and a few requests carry secrets where they do
// not belong. Afterwards every byte the product wrote — each service's stdout/stderr and log file, every file in
// its data folders (databases and their WAL included), every HTTP response — holds no trace of any secret.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startService, type ServiceProcess } from '@ai-agent/common/testing';
import { hangup, say, startAsteriskPeer, waitForAgent, waitForAgentSilence, type AsteriskPeer } from '@ai-agent/test-peers';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from '../api/admin-process.ts';

/** A secret whose random core is what the scan looks for (escaping may change the rest, never the core). */
function plant(prefix: string, tail = ''): { value: string; core: string } {
  const core = randomBytes(12).toString('hex');
  return { value: `${prefix}${core}${tail}`, core };
}

const secrets = {
  localToken: plant('local-', '"q\\b'),
  healthToken: plant('health-', '\\"x'),
  ariPassword: plant('ari-', '"\\'),
  signing: plant('signing-secret-0123456789-'),
  jwt: plant('jwt-secret-0123456789abcdef-'),
  openAi: plant('sk-proj-'),
  deepgram: plant('dg-', '"'),
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('canary scan: no planted secret in anything any service writes', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'canary-all-'));
  const secretFile = (name: string, value: string): string => {
    const path = join(dir, 'secrets', name);
    writeFileSync(path, `${value}\n`, { mode: 0o600 });
    return path;
  };
  /** Every response body and header block the test received, to scan with the rest. */
  const responses: string[] = [];
  let peer: AsteriskPeer;
  let localAi: ServiceProcess;
  let engine: ServiceProcess;
  let admin: AdminProcess;
  let control = '';
  /** An API token the admin UI created: shown once by design, then a secret like the others. */
  let apiToken = '';

  before(async () => {
    mkdirSync(join(dir, 'secrets'));
    mkdirSync(join(dir, 'engine'));
    localAi = startService('local-ai-server/src/main.ts', {
      LOCAL_WS_PORT: '0',
      LOCAL_WS_AUTH_TOKEN: secrets.localToken.value,
      LOG_LEVEL: 'debug',
      LOG_FILE: join(dir, 'local-ai.log'),
    });
    const localAiPort = (JSON.parse(await localAi.waitFor(/local AI server listening/, 60_000)) as { port: number }).port;
    peer = await startAsteriskPeer({ username: 'ai-agent', password: secrets.ariPassword.value });
    const controlPort = await freePort();
    const config = join(dir, 'engine', 'ai-agent.yaml');
    writeFileSync(
      config,
      `ari: { url: "${peer.url}", username: ai-agent, app: ai-agent }
control: { port: ${controlPort} }
telephony: { transport: rtp }
media:
  rtp: { port_min: 0, port_max: 0 }
  audiosocket: { port: 0 }
  websocket: { port: 0 }
providers:
  local: { type: local_ai, url: "ws://127.0.0.1:${localAiPort}" }
store: { path: ${join(dir, 'engine', 'calls.sqlite')} }
contexts:
  default:
    greeting: Thank you for calling. How can I help?
    tools: [hangup]
`,
    );
    engine = startService('engine/src/main.ts', {
      AI_AGENT_CONFIG: config,
      LOG_LEVEL: 'debug',
      LOG_FILE: join(dir, 'engine.log'),
      ARI_PASSWORD_FILE: secretFile('ari', secrets.ariPassword.value),
      LOCAL_WS_AUTH_TOKEN_FILE: secretFile('local', secrets.localToken.value),
      HEALTH_API_TOKEN: secrets.healthToken.value,
      // Loopback is not trusted: the admin UI must sign, the test must present the token.
      HEALTH_TRUST_LOOPBACK: 'false',
      SERVICE_SECRET_ADMIN_UI: secrets.signing.value,
      OPENAI_API_KEY: secrets.openAi.value,
      DEEPGRAM_API_KEY_FILE: secretFile('deepgram', secrets.deepgram.value),
    });
    await engine.waitFor(/providers ready/, 60_000);
    assert.equal(await peer.waitForApp('ai-agent', 15_000), true);
    control = `http://127.0.0.1:${controlPort}`;
    admin = await startAdmin({
      AI_AGENT_CONFIG: config,
      ADMIN_ENGINE_URL: control,
      JWT_SECRET: '',
      JWT_SECRET_FILE: secretFile('jwt', secrets.jwt.value),
      SERVICE_SECRET_ADMIN_UI_FILE: secretFile('signing', secrets.signing.value),
      OPENAI_API_KEY: secrets.openAi.value,
      LOG_LEVEL: 'debug',
      LOG_FILE: join(dir, 'admin.log'),
    });
  });

  after(async () => {
    await admin?.stop();
    await engine?.stop();
    await localAi?.stop();
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keep = async (what: string, res: Response): Promise<Response> => {
    responses.push(`${what} ${res.status} ${JSON.stringify([...res.headers])}\n${await res.clone().text()}`);
    return res;
  };

  it('a call goes through all three services', async () => {
    const call = await peer.placeCall({
      script: [waitForAgentSilence(700, 15_000), say('tts:what are your opening hours'), waitForAgent(15_000), waitForAgentSilence(1000, 20_000), hangup()],
    });
    const report = await call.done;
    assert.equal(report.endedBy, 'caller-hangup');
    assert.ok(report.agentSpurts.length >= 2, 'greeted and answered');
  });

  it('the operator reads everything through the engine and the admin UI; secrets sent where they do not belong are refused', async () => {
    const auth = { authorization: `Bearer ${secrets.healthToken.value}` };
    const list = await keep('engine /calls', await fetch(`${control}/calls`, { headers: auth }));
    assert.equal(list.status, 200);
    const { recent } = (await list.json()) as { recent: Array<{ id: string }> };
    assert.equal(recent.length, 1);
    for (const path of [`/calls/${recent[0]!.id}`, '/config/state', '/metrics', '/health', '/ready']) {
      assert.equal((await keep(`engine ${path}`, await fetch(`${control}${path}`, { headers: auth }))).status, 200, path);
    }
    // Secrets where they do not belong: in a wrong token, in a path, in a malformed path, in a body.
    await keep('engine wrong token', await fetch(`${control}/calls`, { headers: { authorization: `Bearer ${secrets.healthToken.value}x` } }));
    await keep('engine secret path', await fetch(`${control}/calls/${encodeURIComponent(secrets.signing.value)}`, { headers: auth }));
    await keep('engine malformed path', await fetch(`${control}/%zz${secrets.openAi.value}`));
    await keep('engine reload body', await fetch(`${control}/reload`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: `{"x":"${secrets.jwt.core}` }));

    const client = await adminSession(admin);
    for (const path of ['/api/me', '/api/engine/status', '/api/calls', `/api/calls/${recent[0]!.id}`, '/api/config', '/api/secrets', '/api/audit', '/api/tokens', '/api/users']) {
      const r = await client.request(path);
      responses.push(`admin ${path} ${r.status} ${JSON.stringify(r.headers)}\n${r.text}`);
      assert.equal(r.status, 200, `${path}: ${r.text}`);
    }
    const created = await client.request('/api/tokens', { body: { name: 'canary-script', scopes: ['calls:read'] }, csrf: true });
    assert.equal(created.status, 201, created.text);
    apiToken = String(created.json.token);
    assert.ok(apiToken.length >= 32);
    // The token works, and a wrong one is refused; neither response nor log may echo it.
    const withToken = await admin.client({ headers: { authorization: `Bearer ${apiToken}` } }).request('/api/calls', { anonymous: true });
    assert.equal(withToken.status, 200);
    responses.push(`admin with token ${withToken.text}`);
    const wrong = await admin.client({ headers: { authorization: `Bearer ${apiToken}x` } }).request('/api/calls', { anonymous: true });
    assert.equal(wrong.status, 401);
    responses.push(`admin wrong token ${JSON.stringify(wrong.headers)} ${wrong.text}`);
  });

  it('no byte written holds a secret: outputs, log files, databases, responses', async () => {
    // Stopped first, so every log line and database page is on disk.
    await admin.service.stop();
    await engine.stop();
    await localAi.stop();
    const written = new Map<string, string>([
      ['local AI server stdout+stderr', localAi.stdout() + localAi.stderr()],
      ['engine stdout+stderr', engine.stdout() + engine.stderr()],
      ['admin UI stdout+stderr', admin.service.stdout() + admin.service.stderr()],
      ['HTTP responses', responses.join('\n')],
    ]);
    for (const file of [...filesUnder(dir).filter((f) => !f.startsWith(join(dir, 'secrets'))), ...filesUnder(admin.dir)]) {
      written.set(file, readFileSync(file).toString('latin1'));
    }
    assert.ok([...written.keys()].some((k) => k.endsWith('calls.sqlite')), 'the engine database was scanned');
    assert.ok([...written.keys()].some((k) => k.endsWith('admin.sqlite')), 'the admin database was scanned');
    assert.ok((written.get(join(dir, 'engine.log')) ?? '').includes('call entered Stasis'), 'the engine log holds the call');
    assert.ok((written.get(join(dir, 'admin.log')) ?? '').length > 0, 'the admin UI wrote its log file');
    assert.ok((written.get(join(dir, 'local-ai.log')) ?? '').length > 0, 'the local AI server wrote its log file');

    const needles = new Map<string, string>(Object.entries(secrets).map(([name, s]) => [name, s.core]));
    needles.set('admin password', NEW_PASSWORD);
    needles.set('API token', apiToken);
    needles.set('ARI basic credentials', Buffer.from(`ai-agent:${secrets.ariPassword.value}`).toString('base64'));
    const leaks: string[] = [];
    for (const [where, text] of written) {
      for (const [name, needle] of needles) if (text.includes(needle)) leaks.push(`${name} in ${where}`);
    }
    assert.deepEqual(leaks, []);
  });
});
