// Soak: SOAK_CALLS concurrent calls (default 100) for SOAK_SECONDS (default 120 in `npm test`; `npm run soak`
// runs 600) through the real engine process, with impaired RTP (loss, bursts, jitter, reordering) and churn —
// every call converses for a few turns, hangs up and is replaced — against the stand-in local AI server.
// Judged from outside, on what the engine exports (/metrics, /calls) and its output:
// - resident memory flat: the mean of the last third of the run within SOAK_RSS_GROWTH_MB (default 40 MB) of the
//   mean of the middle third (the first third is warm-up: JIT, pools, caches);
// - once every call has ended, active handles and timers back to what they were with the first calls (± 5),
//   so no socket, timer or worker outlives its call;
// - every call that ended has a complete record: an outcome, an end time and at least one turn (a call the rig
//   hung up itself at the end of the run before its caller's first words were done may have none yet);
// - no listener leak warning (MaxListenersExceededWarning) and no crash in the engine's output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAudio, pause, say, type ScriptStep } from '@ai-agent/test-peers';
import { CallRig, metric, sleep } from '../src/call-rig.ts';

const CALLS = Number(process.env.SOAK_CALLS ?? 100);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const RSS_GROWTH_MB = Number(process.env.SOAK_RSS_GROWTH_MB ?? 40);
const SAMPLE_MS = 5000;
/** The script's first pause (≤ 4 s) and first words (2 s), plus time for the engine to take the turn. */
const FIRST_EXCHANGE_MS = 8000;
const PROMPTS = ['vm-login', 'vm-incorrect-mailbox', 'tt-somethingwrong', 'call-fwd-no-ans', 'cannot-complete-as-dialed', 'conf-getpin'];

interface Sample {
  at: number;
  rssMb: number;
  handles: number;
  timers: number;
  active: number;
}

async function sample(rig: CallRig, start: number): Promise<Sample> {
  const text = await rig.metrics();
  return {
    at: (performance.now() - start) / 1000,
    rssMb: metric(text, 'process_resident_memory_bytes') / 1e6,
    handles: metric(text, 'nodejs_active_handles_total'),
    timers: metric(text, 'nodejs_active_resources', 'type="Timeout"'),
    active: metric(text, 'ai_agent_active_calls'),
  };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

test(`soak: ${CALLS} impaired calls with churn for ${SECONDS} s leave memory flat, no handle behind and every record complete`, { timeout: (SECONDS + 180) * 1000 }, async () => {
  const speech = await Promise.all(PROMPTS.map(async (name) => (await loadAudio(`sound:${name}`)).slice(0, 8000 * 2)));
  const script = (n: number): ScriptStep[] => {
    // 3–6 turns of 2 s speech and 2 s silence from a random phase, then the caller hangs up (and is replaced).
    const steps: ScriptStep[] = [pause(1000 + Math.round(Math.random() * 3000))];
    for (let i = 0; i < 3 + (n % 4); i++) steps.push(say(speech[n % speech.length]!), pause(2000));
    return steps;
  };
  const rig = await CallRig.start({
    label: 'soak',
    script,
    replaceEnded: true,
    impair: {
      toEngine: { seed: 7, loss: 0.01, burst: { pGoodToBad: 0.005, pBadToGood: 0.3 }, reorder: 0.01, jitter: { distribution: 'normal', meanMs: 10, stdMs: 8 } },
      fromEngine: { seed: 8, loss: 0.01, jitter: { distribution: 'uniform', maxMs: 20 } },
    },
  });
  const start = performance.now();
  const samples: Sample[] = [];
  let baseline: Sample;
  try {
    await rig.resize(Math.min(CALLS, 5));
    baseline = await sample(rig, start);
    await rig.resize(CALLS);
    while (performance.now() - start < SECONDS * 1000) {
      await sleep(SAMPLE_MS);
      samples.push(await sample(rig, start));
    }
    await rig.resize(0);
    // Hung-up calls finish their teardown (records, media) in the background: wait until the engine has none.
    const deadline = performance.now() + 30_000;
    let idle = await sample(rig, start);
    while ((idle.active > 0 || idle.handles > baseline.handles + 5) && performance.now() < deadline) {
      await sleep(500);
      idle = await sample(rig, start);
    }
    const third = Math.floor(samples.length / 3);
    const middle = mean(samples.slice(third, 2 * third).map((s) => s.rssMb));
    const last = mean(samples.slice(2 * third).map((s) => s.rssMb));
    const summary = {
      callsPlaced: rig.placed,
      rssMb: { baseline: Math.round(baseline.rssMb), middleThird: Math.round(middle), lastThird: Math.round(last), peak: Math.round(Math.max(...samples.map((s) => s.rssMb))) },
      handles: { baseline: baseline.handles, peak: Math.max(...samples.map((s) => s.handles)), idle: idle.handles },
      timers: { baseline: baseline.timers, peak: Math.max(...samples.map((s) => s.timers)), idle: idle.timers },
      meanActiveCalls: Math.round(mean(samples.map((s) => s.active))),
    };
    console.log(`soak summary ${JSON.stringify(summary)}`);
    assert.ok(summary.meanActiveCalls >= CALLS * 0.8, `the engine carried ${summary.meanActiveCalls} calls on average, not ~${CALLS}`);
    assert.ok(last - middle <= RSS_GROWTH_MB, `resident memory grew ${(last - middle).toFixed(1)} MB from the middle to the last third (bound ${RSS_GROWTH_MB} MB)`);
    assert.equal(idle.active, 0, 'calls still active after every caller hung up');
    assert.ok(idle.handles <= baseline.handles + 5, `active handles ${idle.handles} after the run, ${baseline.handles} with the first calls`);
    assert.ok(idle.timers <= baseline.timers + 5, `active timers ${idle.timers} after the run, ${baseline.timers} with the first calls`);

    // Every ended call has its record, complete (pages of 200, newest first).
    let before: string | undefined;
    let records = 0;
    for (;;) {
      const page = (await (await fetch(`${rig.sut.control}/calls?limit=200${before ? `&before=${before}` : ''}`)).json()) as {
        recent: Array<{ id: string; channelId?: string; outcome?: string; startedAt: string; answeredAt?: string; endedAt?: string; turnCount: number }>;
        nextBefore?: string;
      };
      for (const r of page.recent) {
        records++;
        // Hung up by the rig before its first exchange, perhaps before it was even answered: the caller's hangup.
        const cutBeforeFirstTurn = r.channelId !== undefined && rig.hungUpByRig.has(r.channelId) && r.outcome === 'caller_hangup' && r.endedAt &&
          Date.parse(r.endedAt) - Date.parse(r.answeredAt ?? r.startedAt) < FIRST_EXCHANGE_MS;
        assert.ok(r.outcome && r.endedAt && (r.turnCount >= 1 || cutBeforeFirstTurn), `incomplete record ${JSON.stringify(r)}`);
      }
      if (!page.nextBefore) break;
      before = page.nextBefore;
    }
    assert.equal(records, rig.placed, 'one complete record per call placed');
    const output = rig.sut.engine.stdout() + rig.sut.engine.stderr();
    assert.doesNotMatch(output, /MaxListenersExceededWarning|uncaught|FATAL/i);
  } finally {
    await rig.close();
  }
});
