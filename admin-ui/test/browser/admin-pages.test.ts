// The admin web app in a real Chromium against the real admin server: first-run password change, sign-in,
// lockout, every page rendered (a screenshot each, in admin-ui/test-artifacts/), a rejected config showing
// its key and changing nothing, a token shown once, and no CSP violation or script error anywhere.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContextOptions } from 'playwright-core';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from '../api/admin-process.ts';
import { browserUnavailableReason, buildWebApp, launchBrowser, signIn, visitor, type Visitor } from './browser.ts';

const skip = browserUnavailableReason();

// The limit is the whole file's, so it is generous: every step has Playwright's own 30 s limit to fail a hung
// page with its reason. A file limit near the file's usual duration (it was 120 s for about 90 s of tests) ends
// the suite mid-test on a loaded machine: its after() closes the browser under whichever wait is running (once,
// the viewer's sign-out wait for "Sign in").
describe('admin web app in Chromium', { skip: skip ?? false, timeout: 600_000 }, () => {
  let browser: Browser;
  let admin: AdminProcess;
  const open: Visitor[] = [];

  let adminCookies: BrowserContextOptions['storageState'];

  /** A fresh browser profile; its problems are checked at the end of each test. */
  const newVisitor = async (target = admin, cookies?: BrowserContextOptions['storageState']): Promise<Visitor> => {
    const v = await visitor(browser, `http://127.0.0.1:${target.port}`, cookies);
    open.push(v);
    return v;
  };
  /** Signed in through the login page once; later tests start from that session's cookies. */
  const signedInAdmin = async (): Promise<Visitor> => {
    if (adminCookies) return newVisitor(admin, adminCookies);
    await adminSession(admin); // makes the first-run password change if no test has yet
    const v = await newVisitor();
    await signIn(v, 'admin', NEW_PASSWORD);
    await v.page.getByTestId('signed-in-as').waitFor();
    adminCookies = await v.context.storageState();
    return v;
  };
  const noProblems = (v: Visitor): void => assert.deepEqual(v.problems, [], 'console errors or CSP violations');

  before(async () => {
    buildWebApp();
    browser = await launchBrowser();
    admin = await startAdmin({ ADMIN_LOGIN_MAX_FAILURES: '3', ADMIN_LOCKOUT_SECONDS: '600' });
  });

  after(async () => {
    for (const v of open) await v.close().catch(() => undefined);
    await browser?.close();
    await admin?.stop();
  });

  it('first start: the one-time password signs in, and nothing but the password change works until it is made', async () => {
    const fresh = await startAdmin();
    try {
      const v = await newVisitor(fresh);
      const response = await v.page.goto('/');
      const csp = response!.headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
      await v.page.getByRole('heading', { name: 'AI agent admin' }).waitFor();
      await v.screenshot('01-login');

      await signIn(v, 'admin', fresh.firstPassword);
      await v.page.getByRole('heading', { name: 'Choose your password' }).waitFor();
      await v.screenshot('02-first-run-password-change');
      await v.page.goto('/config');
      await v.page.getByRole('heading', { name: 'Choose your password' }).waitFor();

      await v.page.getByLabel('Current password').fill(fresh.firstPassword);
      await v.page.getByLabel('New password', { exact: true }).fill('short');
      await v.page.getByLabel('New password again').fill('short');
      await v.page.getByRole('button', { name: 'Save password' }).click();
      assert.match(await v.page.getByTestId('password-error').innerText(), /next: must be at least \d+ characters/);

      await v.page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await v.page.getByLabel('New password again').fill(NEW_PASSWORD);
      await v.page.getByRole('button', { name: 'Save password' }).click();
      await v.page.getByRole('heading', { name: 'Configuration' }).waitFor();
      assert.equal(await v.page.getByTestId('signed-in-as').innerText(), 'admin');
      noProblems(v);
    } finally {
      await fresh.stop();
    }
  });

  it('a wrong password gets one generic message, and repeated failures lock the account', async () => {
    const api = await adminSession(admin);
    const created = await api.send('POST', '/api/users', { name: 'clerk', role: 'viewer' });
    assert.equal(created.status, 201);
    const v = await newVisitor();
    for (const attempt of ['wrong-password-1', 'wrong-password-2', 'wrong-password-3']) {
      await signIn(v, 'clerk', attempt);
      await v.page.getByTestId('login-error').waitFor();
    }
    // The right password now meets the lock, and the page says a lock is one of the reasons.
    await signIn(v, 'clerk', created.json.password as string);
    const message = await v.page.getByTestId('login-error').innerText();
    assert.match(message, /locked after repeated failures/);
    await v.screenshot('03-login-locked');
    assert.equal(await v.page.getByTestId('signed-in-as').count(), 0);
    noProblems(v);
  });

  it('dashboard: engine state (unreachable here), active calls and key figures', async () => {
    const v = await signedInAdmin();
    await v.page.goto('/');
    await v.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await v.page.getByTestId('engine-ready').getByText('unreachable').waitFor();
    await v.page.getByTestId('active-calls').getByText('No call in progress.').waitFor();
    await v.screenshot('04-dashboard-engine-unreachable');
    noProblems(v);
  });

  it('configuration: an invalid change shows the key and the reason, and the file is unchanged', async () => {
    const before = readFileSync(admin.configFile, 'utf8');
    const v = await signedInAdmin();
    await v.page.goto('/config');
    const editor = v.page.getByLabel('configuration YAML');
    await editor.waitFor();
    assert.equal(await editor.inputValue(), before);
    assert.match(before, /auth_failures_per_minute: 10\n/);
    await editor.fill(before.replace('auth_failures_per_minute: 10', 'auth_failures_per_minute: lots'));
    await v.page.getByRole('button', { name: 'Validate and save' }).click();
    const result = await v.page.getByTestId('config-result').innerText();
    assert.match(result, /Not saved — control\.auth_failures_per_minute: /);
    await v.page.getByTestId('secrets').waitFor();
    await v.screenshot('05-config-rejected');
    assert.equal(readFileSync(admin.configFile, 'utf8'), before, 'a rejected config changes nothing');
    noProblems(v);
  });

  it('configuration as forms: a rejected value names its key and changes nothing; a valid save keeps every comment', async () => {
    const before = readFileSync(admin.configFile, 'utf8');
    const v = await signedInAdmin();
    await v.page.goto('/config');
    const providers = v.page.getByTestId('form-providers');
    const contexts = v.page.getByTestId('form-contexts');
    assert.equal(await providers.getByLabel('providers entry').inputValue(), 'local');
    assert.equal(await providers.getByLabel('type', { exact: true }).inputValue(), 'local_ai');
    await contexts.getByLabel('greeting', { exact: true }).fill('Hello from a form in the browser.');
    await providers.getByLabel('connect timeout ms').fill('5');
    await v.page.getByRole('button', { name: 'Check and save forms' }).click();
    assert.match(await v.page.getByTestId('forms-result').innerText(), /Not saved — providers\.local\.connect_timeout_ms: .*100/);
    assert.equal(readFileSync(admin.configFile, 'utf8'), before, 'a rejected form changes nothing');
    await v.screenshot('14-config-forms-rejected');

    await providers.getByLabel('connect timeout ms').fill('4000');
    await v.page.getByRole('button', { name: 'Check and save forms' }).click();
    await v.page.getByTestId('forms-result').getByText('Saved. Changed: contexts.default.greeting, providers.local.connect_timeout_ms', { exact: false }).waitFor();
    const after = readFileSync(admin.configFile, 'utf8');
    assert.match(after, /greeting: Hello from a form in the browser\./);
    assert.match(after, /connect_timeout_ms: 4000/);
    const comments = (text: string): string[] => text.split('\n').filter((l) => l.trim().startsWith('#'));
    assert.deepEqual(comments(after), comments(before), 'every comment of the file is kept');
    // The YAML view shows the saved file once it has reloaded it (after the save's answer: on a busy host, later).
    const yaml = v.page.getByLabel('configuration YAML');
    const deadline = Date.now() + 15_000;
    while ((await yaml.inputValue()) !== after && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await yaml.inputValue(), after);
    await v.screenshot('15-config-forms-saved');
    noProblems(v);
  });

  it('provider keys are write-only: "not set", replaced, then "set", and the value never shown', async () => {
    const value = `sk-test-${'9'.repeat(24)}`;
    const v = await signedInAdmin();
    await v.page.goto('/config');
    const row = v.page.getByTestId('secrets').locator('tr').filter({ hasText: 'DEEPGRAM_API_KEY' });
    await row.getByText('not set').waitFor();
    await row.getByRole('button', { name: 'Replace' }).click();
    await row.getByLabel('new value for DEEPGRAM_API_KEY').fill(value);
    await row.getByRole('button', { name: 'Save' }).click();
    await row.getByText('set', { exact: true }).waitFor();
    assert.match(readFileSync(admin.envFile, 'utf8'), new RegExp(`^DEEPGRAM_API_KEY="?${value}"?$`, 'm'));
    await v.page.reload();
    await v.page.getByTestId('secrets').waitFor();
    assert.ok(!(await v.page.content()).includes(value), 'the value came back to the page');
    await v.screenshot('06-config-secret-set');
    noProblems(v);
  });

  it('a viewer sees only what their scopes allow (no admin pages, no config or key changes), then signs out', async () => {
    const api = await adminSession(admin);
    const created = await api.send('POST', '/api/users', { name: 'reader', role: 'viewer' });
    assert.equal(created.status, 201);
    const v = await newVisitor();
    await signIn(v, 'reader', created.json.password as string);
    // A wrong current password is refused on the page, without ending the session.
    await v.page.getByLabel('Current password').fill('not-the-password');
    await v.page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await v.page.getByLabel('New password again').fill(NEW_PASSWORD);
    await v.page.getByRole('button', { name: 'Save password' }).click();
    assert.equal(await v.page.getByTestId('password-error').innerText(), 'The current password is wrong.');
    await v.page.getByLabel('Current password').fill(created.json.password as string);
    await v.page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await v.page.getByLabel('New password again').fill(NEW_PASSWORD);
    await v.page.getByRole('button', { name: 'Save password' }).click();
    await v.page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    const nav = await v.page.getByRole('navigation', { name: 'main' }).getByRole('link').allInnerTexts();
    assert.deepEqual(nav, ['Dashboard', 'Calls', 'Configuration', 'Containers']);
    await v.page.goto('/config');
    assert.equal(await v.page.getByLabel('configuration YAML').getAttribute('readonly'), '');
    assert.equal(await v.page.getByRole('button', { name: 'Validate and save' }).count(), 0);
    assert.equal(await v.page.getByRole('button', { name: 'Replace' }).count(), 0);
    await v.page.goto('/tokens');
    await v.page.getByRole('heading', { name: 'Not found' }).waitFor();
    await v.screenshot('13-viewer-no-admin-pages');
    await v.page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await v.page.getByRole('button', { name: 'Sign in' }).waitFor();
    await v.page.goto('/config');
    await v.page.getByRole('button', { name: 'Sign in' }).waitFor();
    noProblems(v);
  });

  it('containers and logs: without Docker the pages say so and the rest works', async () => {
    const v = await signedInAdmin();
    await v.page.goto('/containers');
    await v.page.getByTestId('docker-unavailable').waitFor();
    await v.screenshot('07-containers-no-docker');
    noProblems(v);
  });

  it('API tokens: created with scopes, shown once, listed with last use, revocable', async () => {
    const v = await signedInAdmin();
    await v.page.goto('/tokens');
    await v.page.getByLabel('Name').fill('nightly report');
    await v.page.getByLabel('calls:write').check();
    await v.page.getByRole('button', { name: 'Create token' }).click();
    const shown = await v.page.getByTestId('new-token').innerText();
    const token = /Token nightly report: (\S+)/.exec(shown)?.[1];
    assert.ok(token && token.length >= 32, shown);
    await v.screenshot('08-token-created-shown-once');
    const used = await fetch(`http://127.0.0.1:${admin.port}/api/engine/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(used.status, 200);
    await v.page.reload();
    const table = v.page.getByTestId('tokens');
    await table.getByText('nightly report').waitFor();
    assert.equal(await v.page.getByText(token).count(), 0, 'the token is never shown again');
    assert.equal(await table.getByText('never').count(), 0, 'its last use is listed');
    await v.screenshot('09-tokens');
    v.page.once('dialog', (d) => void d.accept());
    await table.getByRole('button', { name: 'Revoke' }).click();
    await table.waitFor({ state: 'detached' });
    assert.equal((await fetch(`http://127.0.0.1:${admin.port}/api/engine/status`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    noProblems(v);
  });

  it('users and the audit log', async () => {
    const v = await signedInAdmin();
    await v.page.goto('/users');
    await v.page.getByTestId('users').getByText('admin (you)').waitFor();
    await v.screenshot('10-users');
    await v.page.goto('/audit');
    const audit = v.page.getByTestId('audit');
    await audit.getByText('login', { exact: true }).first().waitFor();
    await v.screenshot('11-audit-log');
    noProblems(v);
  });

  it('call history renders (empty without an engine)', async () => {
    const v = await signedInAdmin();
    await v.page.goto('/calls');
    await v.page.getByRole('heading', { name: 'Call history' }).waitFor();
    await v.screenshot('12-history-no-engine');
    noProblems(v);
  });
});
