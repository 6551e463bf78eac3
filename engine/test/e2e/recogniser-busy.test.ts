import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hangup, say, startLocalAiFake, waitForAgent, waitForAgentSilence, type LocalAiFake } from '@ai-agent/test-peers';
import { finishedCalls, startEngine, type EngineUnderTest } from './helpers.ts';

// A saturated local AI server (every recogniser busy past busy_retry_ms) through the real engine process: the
// caller's turn is lost, not the call. The caller hears the context's busy_prompt and is understood when they
// say it again; only a third busy turn in a row ends the call with the apology. Short prompts (the stand-in's
// speech lasts as long as its text) keep the calls short.

const BUSY = { fault: { kind: 'status', status: 429 } } as const;
const BUSY_PROMPT = 'Once more?';
const APOLOGY = 'Sorry, goodbye.';

interface Event {
  kind: string;
  stage?: string;
  message?: string;
  recovered?: boolean;
}

describe('every recogniser of the local AI server busy through a caller turn', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-busy-'));
  let fake: LocalAiFake;
  let sut: EngineUnderTest;
  /** Recogniser opens are refused as busy for this long from the first refusal of a test. */
  let busyForMs = 0;
  let firstRefusal: number | null = null;
  const busyFor = (ms: number): void => {
    busyForMs = ms;
    firstRefusal = null;
  };

  before(async () => {
    fake = await startLocalAiFake({ token: 'busy-recogniser-token-5d1c9e' });
    fake.stt.setDefault(() => {
      firstRefusal ??= Date.now();
      return Date.now() - firstRefusal < busyForMs ? BUSY : { text: 'what are your opening hours' };
    });
    sut = await startEngine({
      dir,
      name: 'busy',
      localAiPort: Number(new URL(fake.url).port),
      telephony: 'transport: rtp\nrtp_format: ulaw',
      providers: `busy: { type: local_ai, url: "${fake.url}", busy_retry_ms: 300 }`,
      contexts: `default:\n  greeting: Hello.\n  busy_prompt: ${BUSY_PROMPT}\n  apology: ${APOLOGY}\n  tools: []\n  provider: { type: pipeline, stt: busy, llm: local, tts: local }`,
      env: { LOCAL_WS_AUTH_TOKEN: fake.token },
    });
  });
  after(async () => {
    await sut?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the caller is asked to say it again, and is answered when they do', async () => {
    // Busy for 1.2 s from the first utterance's onset. The utterance lasts longer: a recogniser asked for again
    // while the lost turn goes on would get its tail (and a reply) before the busy prompt.
    busyFor(1200);
    const call = await sut.peer.placeCall({
      script: [
        waitForAgentSilence(500, 15_000),
        say('tts:what are your opening hours please'),
        waitForAgent(10_000),
        waitForAgentSilence(500, 15_000),
        say('tts:what are your opening hours'),
        waitForAgent(10_000),
        waitForAgentSilence(500, 15_000),
        hangup(),
      ],
    });
    const report = await call.done;
    assert.deepEqual(report.timeouts, [], JSON.stringify(report.transcript));
    const [record] = await finishedCalls(sut.control, 1);
    assert.ok(record);
    assert.equal(record.outcome, 'caller_hangup', JSON.stringify(record));
    assert.deepEqual(
      record.turns.map((t) => `${t.speaker}: ${t.text}`),
      ['agent: Hello.', `agent: ${BUSY_PROMPT}`, 'caller: what are your opening hours', 'agent: Hello from the local fake.'],
    );
    const errors = (record.events as Event[]).filter((e) => e.kind === 'provider_error');
    assert.equal(errors.length, 1, JSON.stringify(record.events));
    assert.equal(errors[0]!.stage, 'stt');
    assert.equal(errors[0]!.recovered, true);
    assert.match(errors[0]!.message!, /stayed busy for 300 ms/);
  });

  it('a third busy turn in a row ends the call with the apology', async () => {
    busyFor(Infinity);
    const turn = [say('tts:what are your opening hours'), waitForAgent(10_000), waitForAgentSilence(500, 15_000)];
    const call = await sut.peer.placeCall({ script: [waitForAgentSilence(500, 15_000), ...turn, ...turn, ...turn, waitForAgentSilence(500, 15_000)] });
    const report = await call.done;
    assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
    const records = await finishedCalls(sut.control, 2);
    const record = records.find((r) => r.outcome !== 'caller_hangup');
    assert.ok(record, JSON.stringify(records));
    assert.equal(record.outcome, 'provider_failure');
    assert.deepEqual(record.turns.map((t) => `${t.speaker}: ${t.text}`), ['agent: Hello.', `agent: ${BUSY_PROMPT}`, `agent: ${BUSY_PROMPT}`, `agent: ${APOLOGY}`]);
    const errors = (record.events as Event[]).filter((e) => e.kind === 'provider_error');
    assert.deepEqual(errors.map((e) => e.recovered ?? false), [true, true, false], JSON.stringify(record.events));
  });
});
