// The browser softphone, end to end with real parts: the local AI server, the engine (no Asterisk: a test call
// needs none) trusting only signed requests, the admin UI, and Chromium whose microphone is a caller's spoken
// question. The operator starts a test call, talks over the agent's greeting (barge-in: the page drops
// its queued audio), hears the answer, sees the transcript and latency, and the call record shows a test call.
// Who may open the call's socket is checked at the API level, on the admin UI and on the engine. The call
// simulator rides on the same services: the page runs a shipped scenario (config/scenarios) and an edited one
// with a wrong expectation, and its routes refuse who may not run one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '@ai-agent/common';
import { textReport, type ScenarioResult } from '@ai-agent/common/simulation';
import { REPO_ROOT, freePort, startService, type ServiceProcess } from '@ai-agent/common/testing';
import type { Browser } from 'playwright-core';
import { WebSocket } from 'ws';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from '../api/admin-process.ts';
import type { Client } from '../api/http-client.ts';
import { browserUnavailableReason, buildWebApp, launchBrowser, signIn, visitor, type Visitor } from './browser.ts';

/**
 * The caller's words, in a wideband voice: a browser is not a phone line. Allison's prompts are 8 kHz, and the
 * offline recogniser's telephone treatment misheard the first words of one in half the runs through the page's
 * capture path ("press three" as "frank gehry"); flite's 16 kHz voice is heard the same at every offset.
 */
const CALLER_TEXT = 'What are your opening hours please';
/** Words of the caller's question that the recogniser hears through the browser's audio path. */
const CALLER_WORDS = /opening|hours/i;
const skip = browserUnavailableReason() ?? (existsSync('/usr/bin/flite') ? null : 'flite is missing (Debian package flite)');
const SERVICE_SECRET = 'test-call-service-secret-0123456789abcdef';
/** Long enough to be talked over: the caller speaks 4 s into the call. */
const GREETING = 'Thank you for calling Example Company. This is the browser test line, and this greeting goes on for quite a while, so that you can talk over it. How can I help you today?';

function engineConfig(dir: string, ports: { control: number; localAi: number }): string {
  return `ari: { url: "http://127.0.0.1:9", username: ai-agent, app: ai-agent }
control:
  port: ${ports.control}
media:
  rtp: { port_min: 0, port_max: 0 }
  audiosocket: { port: 0 }
  websocket: { port: 0 }
providers:
  local: { type: local_ai, url: "ws://127.0.0.1:${ports.localAi}" }
store:
  path: ${join(dir, 'calls.sqlite')}
contexts:
  default:
    greeting: ${GREETING}
    tools: [hangup, transfer]
    transfer_targets:
      operator: { context: from-internal, extension: '100', description: 'a person at the front desk' }
  sales:
    greeting: Sales, how can I help?
`;
}

/**
 * The caller's microphone: 4 s of silence, the caller's question, then silence (played once, not looped).
 * Chromium plays the file from getUserMedia on, before the page's socket is open: the lead keeps the words for
 * the call on a busy host.
 */
function microphoneWav(dir: string): string {
  const spoken = join(dir, 'caller-16k.wav');
  const path = join(dir, 'caller.wav');
  execFileSync('flite', ['-voice', 'slt', '-t', CALLER_TEXT, '-o', spoken]);
  execFileSync('sox', ['-q', spoken, '-r', '48000', '-c', '1', '-b', '16', '-e', 'signed-integer', path, 'pad', '4', '30']);
  return path;
}

/** Opens a WebSocket upgrade; resolves with the HTTP status of a refusal, or 101 once open (then closes it). */
function upgradeStatus(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers });
    ws.once('open', () => {
      ws.close(1000);
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', reject);
  });
}

const cookieHeader = (client: Client): string => [...client.cookies].map(([name, c]) => `${name}=${c.value}`).join('; ');

describe('browser test call (softphone)', { skip: skip ?? false, timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'admin-test-call-'));
  let localAi: ServiceProcess;
  let engine: ServiceProcess;
  let admin: AdminProcess;
  let session: Client;
  let controlPort: number;
  let browser: Browser;
  let v: Visitor;
  let callId: string;
  /** A request to the engine signed as the admin UI (the engine trusts nothing else here). */
  const engineRequest = async (method: 'GET' | 'POST', path: string, json?: unknown): Promise<{ status: number; body: Record<string, unknown> & { error?: string; key?: string } }> => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers = { ...(body ? { 'content-type': 'application/json' } : {}), ...signRequest('admin-ui', SERVICE_SECRET, { method, path, body }) };
    const res = await fetch(`http://127.0.0.1:${controlPort}${path}`, { method, headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    // The services start while the web app builds (a blocking child process): the file's time is mostly theirs.
    localAi = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0' });
    const localAiPort = localAi.waitFor(/local AI server listening/, 60_000).then((line) => (JSON.parse(line) as { port: number }).port);
    controlPort = await freePort();
    const configPath = join(dir, 'ai-agent.yaml');
    buildWebApp();
    const mic = microphoneWav(dir);
    writeFileSync(configPath, engineConfig(dir, { control: controlPort, localAi: await localAiPort }));
    // The simulator's scenarios: the shipped ones, in config/scenarios next to the engine config.
    cpSync(join(REPO_ROOT, 'config/scenarios'), join(dir, 'scenarios'), { recursive: true });
    // Loopback is not trusted: the engine takes the admin UI's signature (or the token) only.
    engine = startService('engine/src/main.ts', { AI_AGENT_CONFIG: configPath, HEALTH_TRUST_LOOPBACK: 'false', SERVICE_SECRET_ADMIN_UI: SERVICE_SECRET });
    admin = await startAdmin({ AI_AGENT_CONFIG: configPath, ADMIN_ENGINE_URL: `http://127.0.0.1:${controlPort}`, SERVICE_SECRET_ADMIN_UI: SERVICE_SECRET });
    session = await adminSession(admin);
    await engine.waitFor(/providers ready/, 60_000);
    browser = await launchBrowser([
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-audio-capture=${mic}%noloop`,
    ]);
    v = await visitor(browser, `http://127.0.0.1:${admin.port}`);
    await signIn(v, 'admin', NEW_PASSWORD);
  });

  after(async () => {
    await v?.close().catch(() => undefined);
    await browser?.close();
    await admin?.stop();
    await engine?.stop();
    await localAi?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a call from the page: caller words in the transcript, agent audio played, barge-in drops the queued audio', async () => {
    await v.page.getByRole('link', { name: 'Test call' }).click();
    const select = v.page.getByLabel('Context');
    await select.locator('option').last().waitFor({ state: 'attached' });
    assert.deepEqual(await select.locator('option').allInnerTexts(), ['default', 'sales'], 'the contexts of the engine config');
    await v.page.getByRole('button', { name: 'Start call' }).click();
    const transcript = v.page.getByTestId('test-call-transcript');
    // The caller spoke over the greeting: the greeting is cut, the caller's words recognised ...
    await transcript
      .locator('li.turn-caller')
      .filter({ hasText: CALLER_WORDS })
      .waitFor({ timeout: 40_000 })
      .catch(async (err: Error) => {
        const audio = v.page.getByTestId('test-call-audio');
        const seen = { transcript: await transcript.innerText(), framesSent: await audio.getAttribute('data-frames-sent') };
        throw new Error(`${err.message}\nthe page showed: ${JSON.stringify(seen)}`);
      });
    await transcript.locator('li.turn-agent.interrupted').first().waitFor({ timeout: 10_000 });
    // ... and the agent answers, heard in the page.
    await transcript.locator('li.turn-agent:not(.interrupted)').first().waitFor({ timeout: 30_000 });
    const audio = v.page.getByTestId('test-call-audio');
    const attr = async (name: string): Promise<number> => Number(await audio.getAttribute(`data-${name}`));
    assert.ok((await attr('frames-sent')) > 100, 'microphone frames went out');
    assert.ok((await attr('flushes')) >= 1, 'the engine flushed the page at the barge-in');
    assert.equal(await audio.getAttribute('data-flush-cut-speech'), 'true', 'the flush cut agent speech queued in the page');
    assert.ok((await attr('dropped-ms')) > 0, 'queued agent audio was dropped, not played');
    assert.ok((await attr('level-after-flush')) < 0.01, `the page went quiet after the flush (output RMS ${await attr('level-after-flush')})`);
    assert.ok((await attr('agent-played-ms')) >= 1000, `agent audio measured at the page's output: ${await attr('agent-played-ms')} ms`);
    await v.page.locator('.waterfall').first().waitFor();
    await v.screenshot('30-test-call');
    await v.page.getByRole('button', { name: 'Hang up' }).click();
    const record = v.page.getByRole('link', { name: /^[0-9a-f-]{36}$/ });
    await record.waitFor({ timeout: 10_000 });
    callId = await record.innerText();
    assert.deepEqual(v.problems, [], 'console errors or CSP violations');
  });

  it('the call record: a test call (transport browser, who placed it), with the barge-in and the answer', async () => {
    assert.ok(callId, 'the call from the page linked its record');
    let body: { record: { transport: string; callerName: string; outcome?: string; turns: Array<{ speaker: string; text: string; interrupted: boolean }>; events: Array<{ kind: string }> } };
    const deadline = Date.now() + 10_000;
    do {
      body = (await session.request(`/api/calls/${callId}`)).json;
      if (body.record?.outcome) break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    const { record } = body;
    assert.equal(record.transport, 'browser');
    assert.equal(record.callerName, 'test call (admin)');
    assert.equal(record.outcome, 'caller_hangup');
    assert.ok(record.turns.some((t) => t.speaker === 'caller' && CALLER_WORDS.test(t.text)), JSON.stringify(record.turns));
    assert.ok(record.turns.some((t) => t.speaker === 'agent' && t.interrupted), 'the greeting was interrupted');
    assert.ok(record.events.some((e) => e.kind === 'barge_in'));
    const audit = (await session.request('/api/audit')).json as Array<{ action: string; detail: { context?: string } }> | { entries: Array<{ action: string }> };
    assert.ok(JSON.stringify(audit).includes('call.test'), 'the audit log names the test call');
  });

  it('the socket: refused without calls:test, a session without its CSRF token or from another origin, and unsigned at the engine', async () => {
    const url = `ws://127.0.0.1:${admin.port}/api/test-call?context=default`;
    const origin = `http://127.0.0.1:${admin.port}`;
    const protocols = ['ai-agent.test-call'];
    assert.equal(await upgradeStatus(url, { protocols }), 401, 'no credentials');

    const token = async (scopes: string[]): Promise<string> => (await session.send('POST', '/api/tokens', { name: `t-${scopes.join('-')}`, scopes })).json.token as string;
    const reader = await token(['calls:read', 'calls:write']);
    assert.equal(await upgradeStatus(url, { protocols, headers: { authorization: `Bearer ${reader}` } }), 403, 'a token without calls:test');
    const tester = await token(['calls:test']);
    assert.equal(await upgradeStatus(url, { protocols, headers: { authorization: `Bearer ${tester}` } }), 101, 'a token with calls:test');
    assert.equal(await upgradeStatus(url.replace('default', 'nosuch'), { protocols, headers: { authorization: `Bearer ${tester}` } }), 400, 'an unknown context');

    const cookie = cookieHeader(session);
    const csrf = `csrf.${session.cookie('csrf')}`;
    assert.equal(await upgradeStatus(url, { protocols: [...protocols, csrf], headers: { cookie, origin } }), 101, 'the page: session, origin and CSRF token');
    assert.equal(await upgradeStatus(url, { protocols, headers: { cookie, origin } }), 403, 'a session without the CSRF token');
    assert.equal(await upgradeStatus(url, { protocols: [...protocols, 'csrf.forged'], headers: { cookie, origin } }), 403, 'a wrong CSRF token');
    assert.equal(await upgradeStatus(url, { protocols: [...protocols, csrf], headers: { cookie } }), 403, 'a session socket without an Origin');
    assert.equal(await upgradeStatus(url, { protocols: [...protocols, csrf], headers: { cookie, origin: 'http://evil.example' } }), 403, 'another origin');

    // A viewer (no calls:test) with a valid session and CSRF token.
    const created = await session.send('POST', '/api/users', { name: 'listener', role: 'viewer' });
    const viewer = admin.client();
    await viewer.request('/api/auth/login', { body: { username: 'listener', password: created.json.password } });
    assert.equal((await viewer.send('POST', '/api/auth/password', { current: created.json.password, next: NEW_PASSWORD })).status, 204);
    await viewer.request('/api/auth/login', { body: { username: 'listener', password: NEW_PASSWORD } });
    assert.equal(await upgradeStatus(url, { protocols: [...protocols, `csrf.${viewer.cookie('csrf')}`], headers: { cookie: cookieHeader(viewer), origin } }), 403, 'a viewer');

    // The engine's own socket takes no unsigned caller when loopback is not trusted.
    const engineUrl = `ws://127.0.0.1:${controlPort}/test-calls?context=default&by=intruder`;
    assert.equal(await upgradeStatus(engineUrl), 401, 'unsigned, at the engine');
    assert.equal(await upgradeStatus(engineUrl, { headers: { origin: 'http://evil.example' } }), 403, 'a browser page, at the engine');
  });

  // The call simulator rides on the same engine: a scenario runs as a simulated call on its test-call path.
  it('the simulator page runs a shipped scenario and shows its report', async () => {
    await v.page.getByRole('link', { name: 'Simulator' }).click();
    const select = v.page.getByRole('combobox', { name: /^Scenario/ });
    await select
      .locator('option[value="default-talk-to-a-person.yaml"]')
      .waitFor({ state: 'attached', timeout: 10_000 })
      .catch(async (err: Error) => {
        throw new Error(`${err.message}\nthe page showed: ${await v.page.locator('main').innerText()}`);
      });
    await select.selectOption('default-talk-to-a-person.yaml');
    await v.page.getByRole('button', { name: 'Run' }).click();
    await v.page.getByTestId('simulation-step').waitFor({ timeout: 10_000 });
    const report = v.page.getByTestId('simulation-report');
    await report.waitFor({ timeout: 60_000 });
    const text = await report.innerText();
    assert.equal(await report.getAttribute('data-passed'), 'true', text);
    assert.match(text, /PASS\s*Asks for a person, is transferred/);
    assert.match(text, /transfer\(\{"target":"operator"\}\)/, 'the tool call, as expected');
    assert.match(text, /turn 1\s+i want to talk to a person/i, 'what the engine heard');
    assert.match(text, /\d+ ms/, 'latency per turn');
    const record = report.getByRole('link', { name: /^[0-9a-f-]{36}$/ });
    const simulatedCall = await record.innerText();
    await v.screenshot('33-simulator-report');
    await record.click();
    await v.page.getByText('test call (simulator, admin)').first().waitFor({ timeout: 10_000 });
    assert.deepEqual(v.problems, [], 'console errors or CSP violations');
    const audit = JSON.stringify((await session.request('/api/audit')).json);
    assert.ok(audit.includes('simulation.run') && audit.includes('default-talk-to-a-person.yaml'), 'the audit log names the run');
    assert.ok(simulatedCall, 'the report linked the call record');
  });

  it('the simulator page: an edited scenario with a wrong expectation fails with a readable diff; one run at a time', async () => {
    const wrong = ['name: The greeting is checked against the wrong words', 'context: sales', 'greeting: { contains: Welcome to Acme }', 'turns:', '  - say: Goodbye.'].join('\n');
    await v.page.getByRole('link', { name: 'Simulator' }).click();
    const textbox = v.page.getByRole('textbox', { name: /^Scenario text/ });
    // The file's text first (the list loads), then the edit.
    await v.page.waitForFunction(() => /name:/.test((globalThis as unknown as { document: { querySelector(s: string): { value: string } | null } }).document.querySelector('textarea')?.value ?? ''));
    await textbox.fill(wrong);
    await v.page.getByRole('button', { name: 'Run' }).click();
    await v.page.getByTestId('simulation-step').waitFor({ timeout: 10_000 });
    const busy = await engineRequest('POST', '/simulations', { file: 'default-opening-hours.yaml', by: 'admin' });
    assert.equal(busy.status, 409, 'one run at a time per engine');
    assert.match(String(busy.body.error), /already running .*The greeting is checked against the wrong words/);
    const report = v.page.getByTestId('simulation-report');
    await report.waitFor({ timeout: 40_000 });
    assert.equal(await report.getAttribute('data-passed'), 'false');
    const failed = report.locator('tr.check-fail');
    assert.equal(await failed.count(), 1, await report.innerText());
    const row = await failed.innerText();
    assert.match(row, /greeting\s+reply contains "Welcome to Acme"\s+- expected: a reply containing "Welcome to Acme"\s+\+ actual: "Sales, how can I help\?"/, row);
    await v.screenshot('34-simulator-diff');
    assert.deepEqual(v.problems, [], 'console errors or CSP violations');
    // The same run as the engine reports it, in `npm run simulate`'s words.
    const run = await engineRequest('GET', `/simulations/${await report.getAttribute('data-run-id')}`);
    const text = textReport({ passed: 0, failed: 1, scenarios: [run.body.result as ScenarioResult] });
    assert.match(text, /✗ greeting: reply contains "Welcome to Acme"\n\s+- expected: a reply containing "Welcome to Acme"\n\s+\+ actual: {3}"Sales, how can I help\?"/, text);
  });

  it('the simulator routes: refused unsigned, from a browser and without calls:test; invalid scenarios name their key', async () => {
    const engine = `http://127.0.0.1:${controlPort}`;
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ file: 'default-opening-hours.yaml', by: 'intruder' }) };
    assert.equal((await fetch(`${engine}/simulations`, post)).status, 401, 'unsigned, at the engine (loopback not trusted)');
    assert.equal((await fetch(`${engine}/simulations/scenarios`)).status, 401);
    assert.equal((await fetch(`${engine}/simulations`, { ...post, headers: { ...post.headers, origin: 'http://evil.example' } })).status, 403, 'a browser page');
    const viewerToken = (await session.send('POST', '/api/tokens', { name: 'sim-reader', scopes: ['calls:read'] })).json.token as string;
    const asViewer = await fetch(`http://127.0.0.1:${admin.port}/api/simulations/scenarios`, { headers: { authorization: `Bearer ${viewerToken}` } });
    assert.equal(asViewer.status, 403, 'a token without calls:test');
    const invalid = await session.send('POST', '/api/simulations', { text: 'name: x\nturns: []' });
    assert.deepEqual([invalid.status, invalid.json.key], [400, 'turns'], 'the key of the invalid scenario, through the admin UI');
    const traversal = await engineRequest('POST', '/simulations', { file: '../ai-agent.yaml', by: 'admin' });
    assert.deepEqual([traversal.status, traversal.body.key], [400, 'file'], 'no path outside the scenario directory');
    assert.equal((await session.send('POST', '/api/simulations', { file: '../ai-agent.yaml' })).status, 400);
  });
});
