// The admin web app watching a real call: the local AI server, the engine and a scripted caller through the
// Asterisk test peer (`npm run call`), each a real process. The dashboard shows the engine come up, the call
// appear live and the key figures move, the call page's transcript grows while it lasts, a viewer sees no
// hangup button (and the API refuses them) while an operator's click ends the call at the caller's end, the
// history then finds it with the engine's filters and shows its latency waterfall, and a config change saves
// with a backup, reloads the engine and leaves /config/state clean.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT, freePort, startService, type ServiceProcess } from '@ai-agent/common/testing';
import type { Browser } from 'playwright-core';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from '../api/admin-process.ts';
import { browserUnavailableReason, buildWebApp, launchBrowser, signIn, visitor, type Visitor } from './browser.ts';

const skip = browserUnavailableReason();
const ARI_PASSWORD = 'ari-test-password-0123';
const GREETING = 'Thank you for calling. How can I help?';
const MCP_SERVER = join(REPO_ROOT, 'engine/test/tools/mcp/fixtures/test-mcp-server.mjs');
/** A secret the failing MCP server prints on its way out: the page must show the error without it. */
const MCP_KEY = 'mcp-browser-key-6e1d9b2c4a';

/**
 * Two questions with the agent's answers between them (long enough to watch the transcript grow), then the
 * caller stays on the line: the operator's hangup button ends the call.
 */
const SCRIPT = [
  { waitForAgentSilence: { silenceMs: 1200, timeoutMs: 15_000 } },
  { say: 'tts:Hello, what are your opening hours?' },
  { waitForAgentSilence: { silenceMs: 1500, timeoutMs: 30_000 } },
  { say: 'tts:And where are you located?' },
  { waitForAgentSilence: { silenceMs: 1500, timeoutMs: 30_000 } },
  { pause: 120_000 },
  { hangup: true },
];

function engineConfig(dir: string, ports: { ari: number; control: number; localAi: number }): string {
  return `ari:
  url: http://127.0.0.1:${ports.ari}
  username: ai-agent
  app: ai-agent
control:
  port: ${ports.control}
telephony:
  transport: rtp
media:
  rtp: { port_min: 0, port_max: 0 }
  audiosocket: { port: 0 }
  websocket: { port: 0 }
providers:
  local: { type: local_ai, url: "ws://127.0.0.1:${ports.localAi}" }
store:
  path: ${join(dir, 'calls.sqlite')}
mcp:
  servers:
    orders: { transport: stdio, command: "${process.execPath}", args: ["${MCP_SERVER}"] }
    broken: { transport: stdio, command: "${process.execPath}", args: ["-e", "console.error('bad key ' + process.env.KEY); process.exit(3)"], env: { KEY: "\${env:MCP_KEY}" }, connect_timeout_ms: 3000 }
contexts:
  default:
    greeting: ${GREETING}
    tools: [hangup]
    # The caller waits silently for the operator's hangup: no reprompt or no-input hangup meanwhile.
    limits: { no_input_seconds: 600 }
`;
}

// The whole file's limit, generous on purpose (see admin-pages.test.ts): each wait below has its own.
describe('admin web app watching a real call', { skip: skip ?? false, timeout: 600_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-live-'));
  const configPath = join(dir, 'ai-agent.yaml');
  let localAi: ServiceProcess;
  let caller: ServiceProcess | undefined;
  let engine: ServiceProcess | undefined;
  let admin: AdminProcess;
  let browser: Browser;
  let v: Visitor;

  before(async () => {
    buildWebApp();
    localAi = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0' });
    const localAiPort = (JSON.parse(await localAi.waitFor(/local AI server listening/, 60_000)) as { port: number }).port;
    const ports = { ari: await freePort(), control: await freePort(), localAi: localAiPort };
    writeFileSync(configPath, engineConfig(dir, ports));
    // The admin UI comes first, so the page sees the engine come up and the call start.
    admin = await startAdmin({ AI_AGENT_CONFIG: configPath, ADMIN_ENGINE_URL: `http://127.0.0.1:${ports.control}`, ADMIN_EVENTS_POLL_MS: '300' });
    await adminSession(admin);
    browser = await launchBrowser();
    v = await visitor(browser, `http://127.0.0.1:${admin.port}`);
    await signIn(v, 'admin', NEW_PASSWORD);
    await v.page.getByTestId('engine-ready').getByText('unreachable').waitFor();

    const script = join(dir, 'script.json');
    writeFileSync(script, JSON.stringify(SCRIPT));
    caller = startService('test-peers/src/cli/call.ts', {}, [
      '--port', String(ports.ari), '--password', ARI_PASSWORD, '--wait', '60', '--script', script, '--wav', join(dir, 'caller.wav'),
    ]);
    await caller.waitFor(/Waiting up to/);
    engine = startService('engine/src/main.ts', { AI_AGENT_CONFIG: configPath, ARI_PASSWORD, MCP_KEY });
    await engine.waitFor(/providers ready/, 60_000);
  });

  after(async () => {
    await v?.close().catch(() => undefined);
    await browser?.close();
    await caller?.stop();
    await engine?.stop();
    await admin?.stop();
    await localAi?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('dashboard: the engine turns ready and the call appears live', async () => {
    await v.page.getByTestId('engine-ready').getByText('ready', { exact: true }).waitFor({ timeout: 30_000 });
    const row = v.page.getByTestId('active-calls').getByRole('link', { name: 'Test Caller' });
    await row.waitFor({ timeout: 30_000 });
    // The key figures come from the engine's /metrics every few seconds, charted as they arrive.
    await v.page.getByTestId('figure-activeCalls').locator('.figure-value').getByText('1', { exact: true }).waitFor({ timeout: 20_000 });
    await v.screenshot('20-dashboard-live-call');
    await row.click();
    await v.page.getByTestId('call-live').waitFor();
  });

  it('live call view: the transcript grows while the call lasts, with a hangup button', async () => {
    const items = v.page.getByTestId('transcript').locator('li');
    await items.first().waitFor({ timeout: 20_000 });
    const first = await items.count();
    // Polled from here: the page's CSP (rightly) refuses the eval that waitForFunction would need.
    const deadline = Date.now() + 30_000;
    while ((await items.count()) <= first) {
      assert.ok(Date.now() < deadline, `the transcript stayed at ${first} entries`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await v.page.getByRole('button', { name: 'Hang up' }).count(), 1, 'an admin holds calls:write');
    await v.page.getByText(GREETING).first().waitFor();
    await v.screenshot('21-call-live-transcript');
  });

  it('hangup: a viewer sees no button and is refused; an operator\'s click ends the call at the caller\'s end', async () => {
    const callUrl = new URL(v.page.url()).pathname;
    const callId = decodeURIComponent(callUrl.split('/').at(-1)!);
    // A viewer (calls:read, no calls:write), signed in in a browser profile of its own.
    const api = await adminSession(admin);
    const created = await api.send('POST', '/api/users', { name: 'watcher', role: 'viewer' });
    assert.equal(created.status, 201);
    const viewerApi = admin.client();
    await viewerApi.request('/api/auth/login', { body: { username: 'watcher', password: created.json.password } });
    assert.equal((await viewerApi.send('POST', '/api/auth/password', { current: created.json.password, next: NEW_PASSWORD })).status, 204);
    const viewer = await visitor(browser, `http://127.0.0.1:${admin.port}`);
    try {
      await signIn(viewer, 'watcher', NEW_PASSWORD);
      await viewer.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await viewer.page.goto(callUrl);
      await viewer.page.getByTestId('call-live').waitFor();
      await viewer.page.getByTestId('transcript').locator('li').first().waitFor();
      assert.equal(await viewer.page.getByRole('button', { name: 'Hang up' }).count(), 0, 'no button without calls:write');
      await viewer.screenshot('25-call-viewer-no-hangup');
      const refused = await viewerApi.send('POST', `/api/calls/${encodeURIComponent(callId)}/hangup`);
      assert.deepEqual([refused.status, refused.json], [403, { error: 'forbidden' }]);
      assert.deepEqual(viewer.problems, [], 'console errors or CSP violations (viewer)');
    } finally {
      await viewer.close();
    }

    // Once the agent answered both questions (greeting, two questions, two answers), the operator hangs up
    // from the call page: the caller's end sees the engine hang up.
    await v.page.getByTestId('call-live').waitFor();
    const turns = v.page.getByTestId('transcript').locator('li.turn');
    for (const deadline = Date.now() + 45_000; (await turns.count()) < 5;) {
      assert.ok(Date.now() < deadline, `the call reached ${await turns.count()} transcript entries`);
      await new Promise((r) => setTimeout(r, 250));
    }
    v.page.once('dialog', (d) => void d.accept());
    await v.page.getByRole('button', { name: 'Hang up' }).click();
    await v.page.getByText('Hanging up', { exact: false }).waitFor();
    assert.equal(await caller!.exited, 0, caller!.stderr());
    assert.match(caller!.stdout(), /ended by engine-hangup/);
    // The page follows the call to its end (or to `ending`: the test peer closes as soon as its caller is gone,
    // and the engine's ARI teardown then has no one to answer it).
    const live = v.page.getByTestId('call-live');
    for (const deadline = Date.now() + 20_000; (await live.count()) > 0 && !/ending/.test(await live.innerText().catch(() => ''));) {
      assert.ok(Date.now() < deadline, 'the call page still shows the call in progress');
      await new Promise((r) => setTimeout(r, 200));
    }
    await v.screenshot('26-call-hung-up');
    const audit = (await api.get('/api/audit?limit=20')).json as Array<{ action: string; actor: string; detail: { callId?: string } }>;
    assert.ok(audit.some((e) => e.action === 'call.hangup' && e.actor === 'admin' && e.detail.callId === callId), 'audited');
  });

  it('history: the engine\'s filters find the call; its transcript and per-turn latency waterfall', async () => {
    await v.page.goto('/calls');
    const row = v.page.getByTestId('history').locator('tbody tr').filter({ hasText: 'Test Caller' });
    await row.waitFor();
    assert.ok(Number(await row.locator('td').nth(4).innerText()) >= 4, 'greeting, two questions and their answers');
    await v.screenshot('22-history');

    // Filtered by the call store: the caller's last digits (the number is stored masked) and a time range.
    const filters = v.page.getByRole('form', { name: 'filters' });
    await filters.getByLabel('Caller', { exact: true }).fill('0100');
    await filters.getByLabel('Outcome').selectOption('transferred');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await v.page.getByTestId('history-empty').waitFor();
    assert.match(v.page.url(), /[?&]caller=0100/);
    assert.match(v.page.url(), /[?&]outcome=transferred/);
    await filters.getByLabel('Outcome').selectOption('');
    await filters.getByLabel('From').fill('2020-01-01T00:00');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await row.waitFor();
    assert.equal(await v.page.getByTestId('history').locator('tbody tr').count(), 1);
    await filters.getByLabel('Context').fill('sales');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await v.page.getByTestId('history-empty').waitFor();
    await v.screenshot('27-history-filtered-none');
    await v.page.goto('/calls?caller=test%20caller&context=default');
    await row.waitFor();
    await v.screenshot('28-history-filtered');

    await row.getByRole('link').click();
    const waterfall = v.page.getByTestId('waterfall');
    await waterfall.waitFor();
    assert.ok((await waterfall.locator('rect').count()) >= 3, 'stages drawn for the agent turns');
    await v.page.getByTestId('transcript').getByText('where are you located', { exact: false }).first().waitFor();
    await v.screenshot('23-call-waterfall');
  });

  it('configuration: each MCP server has a Test button showing its tools, or the engine\'s error with secrets masked', async () => {
    await v.page.goto('/config');
    const orders = v.page.getByTestId('mcp-server-orders');
    await orders.getByRole('button', { name: 'Test orders' }).click();
    const tools = orders.getByTestId('mcp-test-tools');
    await tools.getByText('orders__lookup_order').waitFor({ timeout: 30_000 });
    await tools.getByText('The status of an order by its number.').waitFor();
    const broken = v.page.getByTestId('mcp-server-broken');
    await broken.getByRole('button', { name: 'Test broken' }).click();
    const error = await broken.getByTestId('mcp-test-error').innerText({ timeout: 30_000 });
    assert.match(error, /could not start.*bad key/s);
    assert.ok(!error.includes(MCP_KEY), error);
    await v.screenshot('29-config-mcp-test');
    assert.deepEqual(v.problems, [], 'console errors or CSP violations');
  });

  it('configuration: a valid change is saved with a backup, the engine reloads, and /config/state is clean', async () => {
    await v.page.goto('/config');
    const editor = v.page.getByLabel('configuration YAML');
    await editor.waitFor();
    await editor.fill((await editor.inputValue()).replace(GREETING, 'Hello from the admin UI. How can I help?'));
    await v.page.getByRole('button', { name: 'Validate and save' }).click();
    const result = await v.page.getByTestId('config-result').innerText();
    assert.match(result, /Saved\. Changed: contexts\.default\.greeting; engine reloaded\./);
    const backup = /Backup: (\S+)/.exec(result)?.[1];
    assert.ok(backup && readdirSync(dir).includes(backup), `backup ${backup} exists`);
    await v.page.getByTestId('config-state').getByText('same as the file', { exact: false }).waitFor();
    await v.screenshot('24-config-saved');
    assert.deepEqual(v.problems, [], 'console errors or CSP violations');
  });
});
