// Test support for the admin web app: builds it as the install does, launches Debian's Chromium through
// playwright-core, records every console error and CSP violation, and keeps a screenshot of each page in
// admin-ui/test-artifacts/ (the proof a page rendered).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const ARTIFACTS = join(REPO_ROOT, 'admin-ui', 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const EXPECTED_REFUSAL = /^Failed to load resource: the server responded with a status of (400|401|403|404|409|422|503)\b/;

/** Why the browser tests cannot run here, or null. */
export function browserUnavailableReason(): string | null {
  if (spawnSync(CHROMIUM, ['--version']).status !== 0) return `${CHROMIUM} is missing (Debian package chromium)`;
  return null;
}

/** `npm run build -w admin-ui`: typechecks the web app and writes admin-ui/dist/web, which the server serves. */
export function buildWebApp(): void {
  const built = spawnSync('npm', ['run', '--silent', 'build', '-w', 'admin-ui'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`web app build failed:\n${built.stdout}\n${built.stderr}`);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/** A browser profile of its own (cookies, storage) that records what the page complained about. */
export interface Visitor {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems: string[];
  /** Saves `<name>.png` in the artefacts folder. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** `storageState`: start with another profile's cookies (a session signed in once, reused). */
export async function visitor(browser: Browser, baseURL: string, storageState?: BrowserContextOptions['storageState']): Promise<Visitor> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 }, colorScheme: 'light', storageState });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    // An API refusal the page handles (401 before sign-in, 422 for a rejected config) is logged by Chromium too.
    if (message.type() === 'error' && !EXPECTED_REFUSAL.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Chromium reports CSP violations on the console; the DOM event also names the directive.
  await context.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  });
  return {
    context,
    page,
    problems,
    async screenshot(name) {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => context.close(),
  };
}

/** Signs in through the login page, as an operator does. */
export async function signIn(v: Visitor, username: string, password: string): Promise<void> {
  await v.page.goto('/');
  await v.page.getByLabel('User name').fill(username);
  await v.page.getByLabel('Password').fill(password);
  await v.page.getByRole('button', { name: 'Sign in' }).click();
}
