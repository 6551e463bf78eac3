// The shape every diagnosis takes, for `npm run doctor` (printed) and the engine's start checks (logged).

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable id for scripts (`--json`), e.g. `ari.reachable`, `asterisk.module.chan_rtp`. */
  id: string;
  /** What was checked, in a few words. */
  title: string;
  status: CheckStatus;
  /** The result in one line. Never a secret: keys and passwords are only ever "set" or "missing". */
  detail: string;
  /** What to change, for warn and fail. */
  fix?: string;
  /**
   * The peer refused the connection or did not answer: it may still be starting (services start side by side),
   * so the start checks try again for a while before they report it.
   */
  transient?: boolean;
}

export const pass = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: 'pass', detail });
export const skip = (id: string, title: string, detail: string): CheckResult => ({ id, title, status: 'skip', detail });
export const warn = (id: string, title: string, detail: string, fix: string): CheckResult => ({ id, title, status: 'warn', detail, fix });
export const fail = (id: string, title: string, detail: string, fix: string, transient = false): CheckResult =>
  transient ? { id, title, status: 'fail', detail, fix, transient } : { id, title, status: 'fail', detail, fix };

export interface CheckSummary {
  pass: number;
  warn: number;
  fail: number;
  skip: number;
}

export function summarise(results: readonly CheckResult[]): CheckSummary {
  const summary: CheckSummary = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of results) summary[r.status]++;
  return summary;
}
