// Test reporter that prints, after the run, the test files that took longest (the sum of each file's top-level
// tests and suites): where the CI time budget goes, for whoever has to keep the suite under it. With
// TEST_TIMES_FILE set, every file's time is also written there as JSON (seconds by file), to rebalance the lanes.
import { writeFileSync } from 'node:fs';

const SHOWN = 15;

export default async function* fileTimes(source) {
  const byFile = new Map();
  for await (const event of source) {
    if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file) {
      byFile.set(event.data.file, (byFile.get(event.data.file) ?? 0) + (event.data.details?.duration_ms ?? 0));
    }
  }
  const cwd = process.cwd() + '/';
  const rows = [...byFile].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((sum, [, ms]) => sum + ms, 0);
  yield `\nslowest test files (of ${rows.length}, ${(total / 1000).toFixed(0)} s in tests):\n`;
  for (const [file, ms] of rows.slice(0, SHOWN)) yield `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file.replace(cwd, '')}\n`;
  if (process.env.TEST_TIMES_FILE) {
    const seconds = Object.fromEntries(rows.map(([file, ms]) => [file.replace(cwd, ''), Math.round(ms / 100) / 10]));
    writeFileSync(process.env.TEST_TIMES_FILE, `${JSON.stringify(seconds, null, 1)}\n`);
  }
}
