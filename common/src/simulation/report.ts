// A simulation's report (`npm run simulate`, the admin UI's simulator page): one line per scenario, and for a failure each broken expectation as a small diff
// (what was expected, what happened) with the conversation as the engine heard and answered it.
import type { Check, Judgement } from './evaluate.ts';

export interface ScenarioResult extends Judgement {
  file: string;
  name: string;
  passed: boolean;
  durationMs: number;
  /** The caller's waits that timed out (the agent did not answer or go quiet). */
  timeouts: string[];
  /** The engine's call record of the simulated call (GET /calls/:id); null when none was found. */
  callId: string | null;
}

export interface SimulationReport {
  passed: number;
  failed: number;
  scenarios: ScenarioResult[];
}

export function summarise(scenarios: ScenarioResult[]): SimulationReport {
  const passed = scenarios.filter((s) => s.passed).length;
  return { passed, failed: scenarios.length - passed, scenarios };
}

function failureLines(check: Check): string[] {
  return [`    ✗ ${check.where}: ${check.what}`, `        - expected: ${check.expected}`, `        + actual:   ${check.actual}`];
}

export function textReport(report: SimulationReport): string {
  const lines: string[] = [];
  for (const s of report.scenarios) {
    const checks = `${s.checks.filter((c) => c.passed).length}/${s.checks.length} checks`;
    lines.push(`${s.passed ? 'PASS' : 'FAIL'}  ${s.name}  (${s.file}; ${checks}; ${(s.durationMs / 1000).toFixed(1)} s)`);
    if (s.passed) continue;
    for (const check of s.checks.filter((c) => !c.passed)) lines.push(...failureLines(check));
    if (s.timeouts.length) lines.push(`    the caller gave up waiting for: ${s.timeouts.join(', ')}`);
    lines.push('    conversation (as the engine recorded it):');
    for (const part of s.conversation) {
      if (part.heardAs) lines.push(`      ${part.where.padEnd(8)} caller: ${part.heardAs}`);
      const latency = part.latencyMs === null ? '' : `  (${part.latencyMs} ms)`;
      lines.push(`      ${part.where.padEnd(8)} agent:  ${part.reply || '(nothing)'}${part.tools ? `  [${part.tools}]` : ''}${latency}`);
    }
  }
  lines.push('', `${report.scenarios.length} scenario${report.scenarios.length === 1 ? '' : 's'}: ${report.passed} passed, ${report.failed} failed`);
  return `${lines.join('\n')}\n`;
}
