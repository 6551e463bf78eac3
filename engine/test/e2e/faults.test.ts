// Faults an operator will meet, through the real engine process and the Asterisk test peer: the local AI server
// dying in the middle of a turn (and coming back) and the call store's disk filling up (and being freed). A
// cloud model going away mid-call (its fallback takes over) is in provider-stacks.test.ts.
// Each: what the caller hears, what the operator sees, and that nothing already committed is lost.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { hangup, loadAudio, pause, say, waitForAgent, waitForAgentSilence } from '@ai-agent/test-peers';
import { finishedCalls, getJson, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function metricValue(control: string, name: string): Promise<number> {
  const text = await (await fetch(`${control}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

/** A question, the answer heard out, then hang up: a call that converses. */
const conversation = [waitForAgentSilence(700, 15_000), say('tts:what are your opening hours'), waitForAgent(15_000), waitForAgentSilence(1000, 20_000), hangup()];

describe('the local AI server dies mid-turn and comes back', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-fault-ai-'));
  let ai: { proc: ServiceProcess; port: number };
  let sut: EngineUnderTest;

  before(async () => {
    ai = await startLocalAi();
    sut = await startEngine({ dir, name: 'fault-ai', localAiPort: ai.port, telephony: 'transport: rtp' });
  });
  after(async () => {
    await sut?.stop();
    await ai?.proc.stop();
  });

  it('the caller hears the stock apology and is hung up; the next call, once the server is back, converses', async () => {
    const call = await sut.peer.placeCall({ script: [waitForAgentSilence(700, 15_000), say('tts:what are your opening hours'), pause(20_000)] });
    // Killed while the question is being answered: recognition, reply and speech were all under way.
    await sleep(5000);
    ai.proc.child.kill('SIGKILL');
    const report = await call.done;
    assert.equal(report.endedBy, 'engine-hangup', `the engine did not end the failed call: ${JSON.stringify(report.transcript)}`);
    // Asterisk's own apology (our TTS is gone with the server) is the last thing heard, right before the hangup.
    const apologyMs = (await loadAudio('sound:sorry-youre-having-problems')).length / 8;
    const last = report.agentSpurts.at(-1);
    assert.ok(last && last.endMs - last.startMs > apologyMs * 0.6 && report.durationMs - last.endMs < 1500, `no apology heard before the hangup: ${JSON.stringify(report.agentSpurts)}`);
    const [record] = await finishedCalls(sut.control, 1, 20_000);
    assert.equal(record?.outcome, 'provider_failure');
    assert.ok(record.events.some((e) => e.kind === 'provider_error'), 'the failure is in the call record');
    assert.ok(await metricValue(sut.control, 'ai_agent_active_calls') === 0);

    // The server comes back on its port; the engine reconnects by itself.
    ai = await startLocalAi({ LOCAL_WS_PORT: String(ai.port) });
    let heard = false;
    for (let attempt = 0; attempt < 3 && !heard; attempt++) {
      const next = await sut.peer.placeCall({ script: conversation });
      const nextReport = await next.done;
      heard = nextReport.agentSpurts.length >= 2 && nextReport.endedBy === 'caller-hangup';
      if (!heard) await sleep(2000);
    }
    assert.ok(heard, 'a call after the restart was greeted and answered');
  });
});

/** Mounts a tmpfs of `size` at a new folder; null when this host cannot (not root, no mount namespace rights). */
function smallDisk(size: string): string | null {
  const at = mkdtempSync(join(tmpdir(), 'e2e-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', at], { stdio: 'ignore' });
    return at;
  } catch {
    rmSync(at, { recursive: true, force: true });
    return null;
  }
}

const disk = process.getuid?.() === 0 ? smallDisk('2m') : null;

describe('the call store\'s disk fills up and is freed', { timeout: 180_000, skip: disk ? false : 'needs root to mount a small tmpfs' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-fault-disk-'));
  let ai: { proc: ServiceProcess; port: number };
  let sut: EngineUnderTest;
  const filler = join(disk ?? '/nonexistent', 'filler');

  before(async () => {
    mkdirSync(join(disk!, 'store'));
    ai = await startLocalAi();
    sut = await startEngine({ dir, name: 'fault-disk', localAiPort: ai.port, telephony: 'transport: rtp', store: join(disk!, 'store', 'calls.sqlite') });
  });
  after(async () => {
    await sut?.stop();
    await ai?.proc.stop();
    if (disk) {
      execFileSync('umount', [disk]);
      rmSync(disk, { recursive: true, force: true });
    }
  });

  it('calls go on while records cannot be written, the operator sees the errors, and earlier records survive', async () => {
    const first = await sut.peer.placeCall({ script: conversation });
    await first.done;
    const [kept] = await finishedCalls(sut.control, 1);
    assert.ok(kept?.outcome && kept.turns.length >= 2, 'the first call was recorded');

    // Fill the disk to the last byte.
    try {
      writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
    }
    const errorsBefore = await metricValue(sut.control, 'ai_agent_store_write_errors_total');
    const second = await sut.peer.placeCall({ script: conversation });
    const report = await second.done;
    assert.ok(report.agentSpurts.length >= 2 && report.endedBy === 'caller-hangup', 'the caller was greeted and answered with the disk full');
    await sleep(1000);
    assert.ok(await metricValue(sut.control, 'ai_agent_store_write_errors_total') > errorsBefore, 'the lost writes are counted');
    assert.match(sut.engine.stdout(), /call record write failed|call records? (lost|refused)/, 'and logged');

    // Space again: new calls are recorded, and the first one is still there.
    rmSync(filler, { force: true });
    const third = await sut.peer.placeCall({ script: conversation });
    await third.done;
    const deadline = Date.now() + 10_000;
    let recent: Array<{ id: string; outcome?: string }> = [];
    while (Date.now() < deadline) {
      recent = (await getJson<{ recent: Array<{ id: string; outcome?: string }> }>(`${sut.control}/calls?limit=10`)).recent;
      if (recent.some((r) => r.id !== kept.id && r.outcome)) break;
      await sleep(200);
    }
    assert.ok(recent.some((r) => r.id === kept.id && r.outcome), 'the record committed before the disk filled is intact');
    assert.ok(recent.some((r) => r.id !== kept.id && r.outcome), 'a call after the disk was freed is recorded');
  });
});
