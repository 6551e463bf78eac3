import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pacer } from '../../src/audio/pacer.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('pacer: waits for its ticks on a timer, never busy-waiting, and never runs one more than half a millisecond early', async (t) => {
  const pacer = new Pacer();
  const removeSink = pacer.add({ sendTick: () => undefined, receiveTick: () => undefined });
  await sleep(200);
  const first = pacer.stats.ticks;
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  await sleep(2000);
  const cpu = process.cpuUsage(cpuBefore);
  const wall = performance.now() - wallBefore;
  removeSink();
  const lateness = Array.from({ length: pacer.stats.ticks - first }, (_, i) => pacer.lateness[(first + i) & (pacer.lateness.length - 1)]!)
    .sort((a, b) => a - b);
  const cpuPercent = ((cpu.user + cpu.system) / 1000 / wall) * 100;
  const median = lateness[lateness.length >> 1]!;
  t.diagnostic(`${lateness.length} ticks: cpu ${cpuPercent.toFixed(2)} % of a core, lateness min ${lateness[0]!.toFixed(2)} ms, median ${median.toFixed(2)} ms`);
  // Spinning out the last millisecond of every 20 ms tick costs 4 % of a core or more, all of it event loop
  // time; the 50 timer wake-ups a second themselves cost about 1 % here.
  assert.ok(cpuPercent < 3, `an idle pacer used ${cpuPercent.toFixed(2)} % of a core`);
  assert.ok(lateness.length >= 80, `ticks ${lateness.length}`);
  assert.ok(lateness[0]! >= -0.5, `a tick ran ${(-lateness[0]!).toFixed(2)} ms early`);
  assert.ok(Math.abs(median) <= 1, `median lateness ${median.toFixed(2)} ms`);
});
