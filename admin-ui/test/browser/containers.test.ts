// The containers and logs pages in Chromium, over a real dockerd behind the repo's read-only proxy: the
// product's container is listed (and no other), its logs show redacted, filter by level, and follow live.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from '../api/admin-process.ts';
import { DockerHost, dockerdUnavailableReason } from '../docker/docker-host.ts';
import { PROJECT_LABEL } from '../../src/server/docker/reader.ts';
import { browserUnavailableReason, buildWebApp, launchBrowser, signIn, visitor, type Visitor } from './browser.ts';

const skip = browserUnavailableReason() ?? dockerdUnavailableReason();
const PROJECT = 'aiagent-browser';
/** In the admin UI's environment under a secret-looking name, as a provider key would be. */
const SECRET = `planted-${randomBytes(12).toString('hex')}`;

describe('containers and logs pages over real Docker', { skip: skip ?? false, timeout: 120_000 }, () => {
  const host = new DockerHost();
  let admin: AdminProcess;
  let browser: Browser;
  let v: Visitor;
  let id = '';

  before(async () => {
    buildWebApp();
    await host.start();
    await host.importImage();
    id = await host.run('aiagent-engine', [
      'echo "INFO engine started"',
      `echo "WARN provider key ${SECRET} rejected" >&2`,
      'i=0; while true; do i=$((i+1)); echo "INFO tick $i"; sleep 0.5; done',
    ].join('; '), { [PROJECT_LABEL]: PROJECT, 'com.docker.compose.service': 'ai-engine' });
    await host.run('someone-else', 'sleep 3600', {});
    await host.startProxy();
    admin = await startAdmin({ DOCKER_PROXY_URL: `http://127.0.0.1:${host.proxyPort}`, ADMIN_COMPOSE_PROJECT: PROJECT, PLANTED_API_KEY: SECRET });
    await adminSession(admin);
    browser = await launchBrowser();
    v = await visitor(browser, `http://127.0.0.1:${admin.port}`);
    await signIn(v, 'admin', NEW_PASSWORD);
    await v.page.getByTestId('signed-in-as').waitFor();
  });

  after(async () => {
    await v?.close().catch(() => undefined);
    await browser?.close();
    await admin?.stop();
    await host.stop();
  });

  it('lists the product\'s container with state, uptime and restarts, and no other', async () => {
    await v.page.goto('/containers');
    const table = v.page.getByTestId('containers');
    await table.getByText('aiagent-engine').waitFor();
    assert.equal(await table.locator('tbody tr').count(), 1);
    assert.equal(await table.getByText('someone-else').count(), 0);
    const cells = await table.locator('tbody tr td').allInnerTexts();
    assert.deepEqual([cells[0], cells[1], cells[3], cells[6]], ['aiagent-engine', 'ai-engine', 'running', '0']);
    await v.screenshot('30-containers');
  });

  it('shows its logs redacted, filters them by level, and follows them live', async () => {
    await v.page.goto('/containers');
    await v.page.getByTestId('containers').getByRole('link', { name: 'Logs' }).click();
    const lines = v.page.getByTestId('log-lines');
    await lines.getByText('INFO engine started').waitFor();
    assert.equal(new URL(v.page.url()).pathname, `/containers/${id}/logs`);
    await lines.getByText('WARN provider key [REDACTED] rejected').waitFor();
    assert.ok(!(await v.page.content()).includes(SECRET), 'the planted secret reached the page');
    await v.screenshot('31-logs');

    await v.page.getByLabel('Level at least').selectOption('warn');
    await v.page.getByRole('button', { name: 'Apply' }).click();
    await lines.getByText('INFO engine started').waitFor({ state: 'detached' });
    assert.deepEqual(await lines.locator('.log-text').allInnerTexts(), ['WARN provider key [REDACTED] rejected']);

    await v.page.getByLabel('Level at least').selectOption('');
    await v.page.getByLabel('Text').fill('tick');
    await v.page.getByLabel('Last lines').fill('0');
    await v.page.getByRole('button', { name: 'Apply' }).click();
    await v.page.getByLabel('Follow').check();
    const ticks = lines.locator('.log-text');
    await ticks.nth(1).waitFor({ timeout: 10_000 });
    const followed = await ticks.allInnerTexts();
    assert.ok(followed.every((t) => /^INFO tick \d+$/.test(t)), followed.join(' | '));
    await v.screenshot('32-logs-follow');
    assert.deepEqual(v.problems, [], 'console errors or CSP violations');
  });
});
