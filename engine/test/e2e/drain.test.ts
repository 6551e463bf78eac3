// Shutdown through the real path: SIGTERM to the engine process with calls in progress. New calls go back to the
// dialplan while the drain runs; calls still up at the drain timeout hear the drain message, spoken
// by the call's own TTS, then are hung up; every record is written as drained; the process exits 0.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { pause, waitForAgentSilence } from '@ai-agent/test-peers';
import { getJson, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

const DRAIN_MESSAGE = 'We are restarting this service now. Please call again in a minute. Goodbye.';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SIGTERM drains the calls of a real engine', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-drain-'));
  const store = join(dir, 'calls.sqlite');
  let ai: { proc: ServiceProcess; port: number };
  let sut: EngineUnderTest;

  before(async () => {
    ai = await startLocalAi();
    sut = await startEngine({
      dir,
      name: 'drain',
      localAiPort: ai.port,
      telephony: 'transport: rtp',
      store,
      limits: `drain_timeout_seconds: 2\ndrain_message: "${DRAIN_MESSAGE}"`,
    });
  });
  after(async () => {
    await sut?.stop();
    await ai?.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses new calls, speaks the drain message to the calls still up, records them as drained, exits 0', async () => {
    const waiting = [0, 1].map(() => sut.peer.placeCall({ script: [waitForAgentSilence(700, 15_000), pause(60_000)] }));
    for (let i = 0; i < 100; i++) {
      const { active } = await getJson<{ active: unknown[] }>(`${sut.control}/calls`);
      if (active.length === 2) break;
      await sleep(100);
    }
    // Both greetings heard out: the calls are idle, listening, when the shutdown comes.
    await sleep(6000);
    const signalled = Date.now();
    sut.engine.child.kill('SIGTERM');
    await sut.engine.waitFor(/draining: no new calls/);
    const late = await (await sut.peer.placeCall({ script: [pause(10_000)] })).done;
    const reports = await Promise.all(waiting.map(async (c) => (await c).done));
    assert.equal(await sut.engine.exited, 0, sut.engine.stderr());

    // The call that came during the drain is not taken by the AI: it goes back to the dialplan, where (with no
    // priority left after Stasis) Asterisk hangs up.
    assert.deepEqual(late.agentSpurts, []);
    assert.ok(late.transcript.some((t) => t.who === 'asterisk' && /continued in dialplan; no priority left/.test(t.text)), JSON.stringify(late.transcript));

    for (const report of reports) {
      assert.equal(report.endedBy, 'engine-hangup');
      // The last thing heard is the drain message (a synthesised sentence of several seconds), after the timeout.
      const last = report.agentSpurts.at(-1)!;
      assert.ok(last.endMs - last.startMs > 2500, `drain message not heard: ${JSON.stringify(report.agentSpurts)}`);
      assert.ok(report.durationMs - last.endMs < 1500, 'hung up right after the message');
    }
    assert.ok(Date.now() - signalled < 20_000);

    const db = new BetterSqlite3(store, { readonly: true });
    try {
      const rows = db
        .prepare(`SELECT outcome, ended_at, (SELECT text FROM turns WHERE call_id = calls.id AND speaker = 'agent' ORDER BY seq DESC LIMIT 1) AS last FROM calls ORDER BY started_at`)
        .all() as Array<{ outcome: string; ended_at: string | null; last: string | null }>;
      const drained = rows.filter((r) => r.outcome === 'drained');
      assert.equal(drained.length, 2, JSON.stringify(rows));
      for (const r of drained) {
        assert.ok(r.ended_at);
        assert.equal(r.last, DRAIN_MESSAGE);
      }
      assert.ok(rows.every((r) => r.ended_at !== null), 'every record is finished');
    } finally {
      db.close();
    }
  });
});
