import { summarise, type CheckResult, type CheckStatus } from './check.ts';

const LABEL: Record<CheckStatus, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };
const MAX_TITLE = 36;

/** One line per check (`FAIL  title  detail`), the fix on the next for warnings and failures, a summary last. */
export function renderText(results: readonly CheckResult[]): string {
  const width = Math.min(MAX_TITLE, Math.max(...results.map((r) => r.title.length)));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${LABEL[r.status]}  ${r.title.padEnd(width)}  ${r.detail}`);
    if (r.fix && (r.status === 'fail' || r.status === 'warn')) lines.push(`${' '.repeat(6)}fix: ${r.fix}`);
  }
  const s = summarise(results);
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push('', `doctor: ${s.pass} passed, ${plural(s.warn, 'warning')}, ${s.fail} failed, ${s.skip} skipped`);
  return `${lines.join('\n')}\n`;
}

/** For scripts: `ok` is false when any check failed (the exit code says the same). */
export function renderJson(results: readonly CheckResult[], config: string | null): string {
  const summary = summarise(results);
  return `${JSON.stringify({ ok: summary.fail === 0, config, summary, results }, null, 2)}\n`;
}
