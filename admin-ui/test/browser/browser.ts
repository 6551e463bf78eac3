// Test support for the admin web app: builds it as the install does, launches Debian's Chromium through
// playwright-core, records every console error and CSP violation, and keeps a screenshot of each page in
// admin-ui/test-artifacts/ (the proof a page rendered).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
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

const WEB_ROOT = join(REPO_ROOT, 'admin-ui', 'dist', 'web');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The web app's sources and build settings. */
const WEB_SOURCES = [join(REPO_ROOT, 'admin-ui', 'src', 'web'), join(REPO_ROOT, 'admin-ui', 'vite.config.ts'), join(REPO_ROOT, 'admin-ui', 'package.json')];

/**
 * Whether admin-ui/dist/web was published after the last change to any of its sources (the install builds it just
 * before the tests run): then the tests serve it as it is, instead of each browser test file building it again.
 */
function builtFromCurrentSources(): boolean {
  const index = join(WEB_ROOT, 'index.html');
  if (!existsSync(index)) return false;
  const newestSource = Math.max(...WEB_SOURCES.flatMap((path) => (statSync(path).isDirectory() ? filesUnder(path) : [path])).map((f) => statSync(f).mtimeMs));
  return statSync(index).mtimeMs > newestSource;
}

/**
 * `npm run build -w admin-ui` (typecheck + Vite), into a folder of its own, then published into
 * admin-ui/dist/web (which the server serves) one file at a time, each by an atomic rename, index.html last.
 * Building in place is not safe when another test file builds at the same moment (the shared test lane):
 * Vite empties its output folder first, and a page loaded in that moment gets no index.html or no script.
 * Published this way, every file a served index.html names exists throughout (the asset names are content
 * hashes; nothing is deleted).
 */
export function buildWebApp(): void {
  if (builtFromCurrentSources()) return;
  const out = mkdtempSync(join(tmpdir(), 'admin-web-'));
  try {
    const built = spawnSync('npm', ['run', '--silent', 'build', '-w', 'admin-ui', '--', '--outDir', out, '--emptyOutDir'], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`web app build failed:\n${built.stdout}\n${built.stderr}`);
    const files = filesUnder(out).sort((a, b) => Number(a.endsWith('index.html')) - Number(b.endsWith('index.html')));
    for (const file of files) {
      const target = join(WEB_ROOT, relative(out, file));
      mkdirSync(dirname(target), { recursive: true });
      const temporary = `${target}.${process.pid}.tmp`;
      copyFileSync(file, temporary);
      renameSync(temporary, target);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** `extraArgs`: more Chromium switches (e.g. a fake microphone playing a file). */
export async function launchBrowser(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...extraArgs],
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
