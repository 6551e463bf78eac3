import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { bargeIn, hangup, pause, say, waitForAgent, waitForAgentSilence } from '@ai-agent/test-peers';
import { finishedCalls, getJson, openHandles, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

const CONTEXT = `default:
  greeting: Thank you for calling. How can I help?
  tools: [hangup, transfer]
  transfer_targets:
    operator: { context: from-internal, extension: '100', description: a person at the front desk }`;

describe('barge-in, transfer and concurrent calls through the real engine', { timeout: 400_000 }, () => {
  let localAi: ServiceProcess;
  let sut: EngineUnderTest;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-load-'));

  before(async () => {
    // Two recognisers per concurrent call: on 2 cores 20 decoders run ~14 s behind, so a call's ended turn is still
    // decoding when its next one opens. The server's busy policy is tested elsewhere; the default of 8 is sized
    // for real-time decoding on 2 cores.
    const ai = await startLocalAi({ LOCAL_STT_MAX_STREAMS: '40' });
    localAi = ai.proc;
    sut = await startEngine({ dir, name: 'load', localAiPort: ai.port, telephony: 'transport: rtp', contexts: CONTEXT, limits: 'max_concurrent_calls: 30' });
  });
  after(async () => {
    await sut?.stop();
    await localAi?.stop();
  });

  it('the caller cuts the agent off mid-sentence, is heard, and is transferred to a person', async () => {
    const call = await sut.peer.placeCall({
      script: [
        waitForAgentSilence(700, 15_000),
        say('tts:what are your opening hours'),
        bargeIn(1500, 'tts:stop please I want to talk to a person', 20_000),
        pause(12_000),
      ],
    });
    const report = await call.done;
    const [record] = await finishedCalls(sut.control, 1);
    assert.ok(record);
    // Agent audio stopped on the wire soon after the caller started talking over it.
    const barge = report.bargeIns[0];
    assert.ok(barge && barge.agentStopMs !== null, `the agent never stopped: ${JSON.stringify(report.bargeIns)}`);
    assert.ok(barge.agentStopMs < 1000, `agent audio went on ${barge.agentStopMs} ms after the caller's onset`);
    // The interrupted reply is recorded as what the caller heard: a strict prefix of the full answer.
    const cut = record.turns.find((t) => t.speaker === 'agent' && t.interrupted);
    assert.ok(cut, `no interrupted agent turn: ${JSON.stringify(record.turns)}`);
    assert.ok(cut.text.length > 0 && cut.text.length < 100, `heard text should be a short prefix: "${cut.text}"`);
    assert.ok(record.events.some((e) => e.kind === 'barge_in'), 'no barge_in event recorded');
    // Then the request was understood and the caller left for the allowlisted extension, hearing ringback.
    assert.equal(record.outcome, 'transferred', JSON.stringify(record.turns));
    assert.ok(report.transcript.some((e) => /continued in dialplan to from-internal.*100/.test(e.text)), JSON.stringify(report.transcript));
  });

  it('20 concurrent calls each get their own conversation, and every resource is released afterwards', async () => {
    // Warm-up: pooled provider connections and worker threads exist from here on.
    const warm = await sut.peer.placeCall({ script: [waitForAgentSilence(500, 15_000), hangup()] });
    await warm.done;
    await finishedCalls(sut.control, 1);
    await new Promise((r) => setTimeout(r, 6000));
    const handlesBefore = await openHandles(sut.engine.child.pid!);

    const questions = ['tts:what are your opening hours', 'tts:i forgot my password'];
    // Calls arrive 250 ms apart, as a burst of real callers would, and all overlap.
    const calls = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i * 250));
        return sut.peer.placeCall({
          callerId: { number: `55501${String(i).padStart(5, '0')}` },
          script: [waitForAgentSilence(1200, 30_000), say(questions[i % 2]!), waitForAgent(60_000), waitForAgentSilence(1200, 60_000), hangup()],
        });
      }),
    );
    const reports = await Promise.all(calls.map((c) => c.done));
    const records = await finishedCalls(sut.control, 20, 30_000);
    for (const report of reports) assert.ok(report.turns.length >= 1, `a call got no answer: ${JSON.stringify(report.transcript)}`);
    // Each call's question is answered in that call: an answer to the other question would be a crossed
    // conversation. Recognition itself is not under test here, so only most calls need to be understood.
    let answered = 0;
    const crossed: string[] = [];
    for (const record of records) {
      const caller = record.turns.filter((t) => t.speaker === 'caller').map((t) => t.text).join(' ');
      const agent = record.turns.filter((t) => t.speaker === 'agent').map((t) => t.text.toLowerCase()).join(' ');
      const asked = /hours|open/.test(caller) ? 'hours' : /password|forgot/.test(caller) ? 'password' : null;
      const toldHours = /monday/.test(agent);
      const toldPassword = /account number|reset/.test(agent);
      if ((asked === 'hours' && toldHours) || (asked === 'password' && toldPassword)) answered++;
      if ((asked === 'hours' && toldPassword && !toldHours) || (asked === 'password' && toldHours && !toldPassword)) {
        crossed.push(`${caller} -> ${agent}`);
      }
    }
    assert.deepEqual(crossed, [], 'a caller got the answer to another call\'s question');
    assert.ok(answered >= 12, `only ${answered} of 20 calls got their answer: ${JSON.stringify(records.map((r) => r.turns.map((t) => `${t.speaker}: ${t.text}`)))}`);

    const { active } = await getJson<{ active: unknown[] }>(`${sut.control}/calls`);
    assert.deepEqual(active, []);
    // HTTP keep-alive sockets of the ARI client idle out after the server's 5 s keep-alive timeout.
    await new Promise((r) => setTimeout(r, 6000));
    const handlesAfter = await openHandles(sut.engine.child.pid!);
    const added = [...handlesAfter].filter(([fd, target]) => handlesBefore.get(fd) !== target).map(([, target]) => target);
    if (added.length > 2) {
      const { execFileSync } = await import('node:child_process');
      const ss = execFileSync('ss', ['-tuanpe']).toString().split('\n').filter((l) => l.includes(`pid=${sut.engine.child.pid},`));
      assert.fail(`handles left open after the calls: ${added.join(', ')}\n${ss.join('\n')}`);
    }
  });
});
