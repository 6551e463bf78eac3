import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Impairer, type ImpairmentOptions } from '../src/index.ts';

const N = 20_000;

function run(opts: ImpairmentOptions, n = N) {
  const delivered: number[] = [];
  const imp = new Impairer(opts, (p) => delivered.push(p.readUInt32BE(0)));
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i);
    imp.send(b);
  }
  return { imp, delivered };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

test('independent loss and duplication rates match their settings', () => {
  const { imp, delivered } = run({ seed: 7, loss: 0.05, duplicate: 0.02 });
  const lossRate = imp.stats.lost / N;
  const dupRate = imp.stats.duplicated / (N - imp.stats.lost);
  assert.ok(Math.abs(lossRate - 0.05) < 0.006, `loss ${lossRate}`);
  assert.ok(Math.abs(dupRate - 0.02) < 0.004, `dup ${dupRate}`);
  assert.equal(delivered.length, N - imp.stats.lost + imp.stats.duplicated);
  assert.equal(new Set(delivered).size, N - imp.stats.lost, 'lost packets really are missing');
});

test('Gilbert–Elliott bursts give the stationary loss rate and bursty runs', () => {
  const burst = { pGoodToBad: 0.01, pBadToGood: 0.25 };
  const { imp, delivered } = run({ seed: 3, burst }, 100_000);
  const expected = burst.pGoodToBad / (burst.pGoodToBad + burst.pBadToGood);
  const rate = imp.stats.lost / 100_000;
  assert.ok(Math.abs(rate - expected) < 0.01, `loss ${rate} vs ${expected}`);
  const got = new Set(delivered);
  let runs = 0;
  let lostInRuns = 0;
  for (let i = 0; i < 100_000; i++) {
    if (!got.has(i) && got.has(i - 1)) runs++;
    if (!got.has(i)) lostInRuns++;
  }
  const meanRun = lostInRuns / runs;
  assert.ok(Math.abs(meanRun - 1 / burst.pBadToGood) < 0.6, `mean burst ${meanRun}`);
});

test('the same seed replays the same impairments; another seed differs', () => {
  const a = run({ seed: 42, loss: 0.1, reorder: 0.05 }, 2000).delivered;
  const b = run({ seed: 42, loss: 0.1, reorder: 0.05 }, 2000).delivered;
  const c = run({ seed: 43, loss: 0.1, reorder: 0.05 }, 2000).delivered;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const swapped = a.filter((v, i) => i > 0 && v < a[i - 1]).length;
  assert.ok(swapped > 50, `reordered ${swapped}`);
});

test('jitter distributions: uniform, normal and pareto delays have the configured statistics', () => {
  const uni = run({ seed: 1, jitter: { distribution: 'uniform', minMs: 5, maxMs: 25 } }, 10_000);
  const u = uni.imp.stats.delaysMs;
  assert.ok(Math.abs(mean(u) - 15) < 0.3 && Math.min(...u) >= 5 && Math.max(...u) <= 25);
  assert.ok(Math.abs(std(u) - 20 / Math.sqrt(12)) < 0.3);
  uni.imp.close();
  const nor = run({ seed: 2, jitter: { distribution: 'normal', meanMs: 40, stdMs: 8 } }, 10_000);
  assert.ok(Math.abs(mean(nor.imp.stats.delaysMs) - 40) < 0.4, `normal mean ${mean(nor.imp.stats.delaysMs)}`);
  assert.ok(Math.abs(std(nor.imp.stats.delaysMs) - 8) < 0.4);
  nor.imp.close();
  const par = run({ seed: 3, jitter: { distribution: 'pareto', scaleMs: 10, shape: 3, maxMs: 10_000 } }, 20_000);
  // Lomax (Pareto II) with scale 10, shape 3: mean 10 / (3 - 1) = 5 ms; median 10 (2^(1/3) - 1) ≈ 2.6 ms.
  const p = [...par.imp.stats.delaysMs].sort((x, y) => x - y);
  assert.ok(Math.abs(mean(p) - 5) < 0.5, `pareto mean ${mean(p)}`);
  assert.ok(Math.abs(p[p.length >> 1] - 2.6) < 0.2, `pareto median ${p[p.length >> 1]}`);
  par.imp.close();
});

test('jittered packets are delivered after their delay, reordered as a real network would', async () => {
  const arrivals: Array<{ seq: number; at: number }> = [];
  const start = performance.now();
  const imp = new Impairer({ seed: 9, jitter: { distribution: 'uniform', minMs: 0, maxMs: 60 } }, (p) =>
    arrivals.push({ seq: p.readUInt32BE(0), at: performance.now() - start }),
  );
  for (let i = 0; i < 50; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i);
    imp.send(b);
  }
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(arrivals.length, 50);
  assert.ok(arrivals.every((a, i) => a.at + 2 >= imp.stats.delaysMs[a.seq] || i < 0));
  assert.ok(arrivals.some((a, i) => i > 0 && a.seq < arrivals[i - 1].seq), 'some packets overtook others');
  imp.close();
});
