import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAudible, loadAudio, pause, startDeepgramFake, type CallReport, type DeepgramFake } from '@ai-agent/test-peers';
import { finishedCalls, getJson, startEngine, type EngineUnderTest } from './helpers.ts';

// Prompts Asterisk plays itself (the apology after a provider failure, the busy message over the limit): the
// engine hangs up when Asterisk reports the playback finished, not after a safety timeout.

const DEEPGRAM_KEY = 'dg-e2e-prompts-0123456789abcdef';
/** No local AI server runs here: every context is a speech-to-speech agent. */
const UNUSED_PORT = 9;
/** How long after a prompt has finished playing the caller may still be on the line. */
const HANGUP_WITHIN_MS = 1000;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** When (ms into the call) Asterisk finished playing `sound`, from the caller's first audible frame of it. */
async function promptEndMs(report: CallReport, sound: string): Promise<number> {
  const samples = await loadAudio(sound);
  let lead = 0;
  while (lead + 160 <= samples.length && !isAudible(samples.subarray(lead, lead + 160))) lead += 160;
  assert.ok(report.firstAgentAudioMs !== null, `the caller heard no prompt: ${JSON.stringify(report.transcript)}`);
  return report.firstAgentAudioMs - lead / 8 + samples.length / 8;
}

/** Resolves once the engine holds one call (the only slot, with max_concurrent_calls: 1). */
async function oneActiveCall(control: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await getJson<{ active: unknown[] }>(`${control}/calls`)).active.length !== 1) {
    if (Date.now() > deadline) throw new Error('the first call was never admitted');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('stock prompts played by Asterisk', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-prompts-'));
  let fake: DeepgramFake;
  let sut: EngineUnderTest;

  before(async () => {
    fake = await startDeepgramFake({ apiKey: DEEPGRAM_KEY });
    sut = await startEngine({
      dir,
      name: 'stock-prompts',
      localAiPort: UNUSED_PORT,
      telephony: 'transport: rtp\nrtp_format: ulaw',
      providers: [
        `voice: { type: deepgram_agent, agent_url: "${fake.environment.agent}" }`,
        `unreachable: { type: deepgram_agent, agent_url: "ws://127.0.0.1:${await closedPort()}" }`,
      ].join('\n'),
      contexts: [
        'default:\n  greeting: Hello from the voice agent.\n  tools: [hangup]\n  provider: { type: agent, agent: voice }',
        'broken:\n  greeting: Hello.\n  provider: { type: agent, agent: unreachable }',
      ].join('\n'),
      limits: 'max_concurrent_calls: 1',
      env: { DEEPGRAM_API_KEY: DEEPGRAM_KEY },
    });
  });
  after(async () => {
    await sut?.stop();
    await fake?.close();
  });

  it('a failed provider: the caller hears the stock apology and is hung up as soon as it has played', async () => {
    const call = await sut.peer.placeCall({ variables: { AI_CONTEXT: 'broken' }, script: [pause(25_000)] });
    const report = await call.done;
    const [record] = await finishedCalls(sut.control, 1);
    assert.equal(record?.outcome, 'provider_failure');
    assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
    const end = await promptEndMs(report, 'sound:sorry-youre-having-problems');
    assert.ok(report.durationMs >= end - 100, `hung up at ${report.durationMs} ms, before the apology ended (${end} ms)`);
    assert.ok(report.durationMs - end < HANGUP_WITHIN_MS, `hung up ${report.durationMs - end} ms after the apology ended`);
  });

  it('over the limit: the caller hears the busy message and is hung up as soon as it has played', async () => {
    const first = await sut.peer.placeCall({ script: [pause(25_000)] });
    try {
      await oneActiveCall(sut.control);
      const call = await sut.peer.placeCall({ script: [pause(25_000)] });
      const report = await call.done;
      assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
      const end = await promptEndMs(report, 'sound:all-circuits-busy-now');
      assert.ok(report.durationMs >= end - 100, `hung up at ${report.durationMs} ms, before the message ended (${end} ms)`);
      assert.ok(report.durationMs - end < HANGUP_WITHIN_MS, `hung up ${report.durationMs - end} ms after the busy message ended`);
    } finally {
      const { active } = await getJson<{ active: Array<{ id: string }> }>(`${sut.control}/calls`);
      for (const { id } of active) await fetch(`${sut.control}/calls/${id}/hangup`, { method: 'POST' });
      await first.done;
    }
    const records = await finishedCalls(sut.control, 2);
    assert.ok(records.some((r) => r.outcome === 'rejected_busy'), JSON.stringify(records.map((r) => r.outcome)));
  });
});
