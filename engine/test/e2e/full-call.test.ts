import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { say, waitForAgentSilence, pause } from '@ai-agent/test-peers';
import { finishedCalls, getJson, startEngine, startLocalAi, type EngineUnderTest, type StoredCall } from './helpers.ts';

// The whole product as an operator runs it: the engine and the local AI server as real processes, Asterisk
// played by the test peer, the caller speaking synthesised lines. Nothing in-process but the peer.

const TRANSPORTS = [
  { transport: 'rtp', format: 'rtp_format: ulaw' },
  { transport: 'audiosocket', format: 'audiosocket_format: slin' },
  { transport: 'websocket', format: 'websocket_format: ulaw' },
] as const;

describe('a whole call through the real engine and local AI server', { timeout: 240_000 }, () => {
  let localAi: ServiceProcess;
  let localAiPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-'));

  before(async () => {
    ({ proc: localAi, port: localAiPort } = await startLocalAi());
  });
  after(async () => {
    await localAi?.stop();
  });

  for (const { transport, format } of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      let sut: EngineUnderTest;
      let callId: string | undefined;
      before(async () => {
        sut = await startEngine({ dir, name: transport, localAiPort, telephony: `transport: ${transport}\n${format}` });
      });
      after(async () => {
        await sut?.stop();
      });

      it('greets, answers a question, and hangs up when the caller says goodbye', async () => {
        const ready = await fetch(`${sut.control}/ready`);
        assert.equal(ready.status, 200, await ready.text());
        const call = await sut.peer.placeCall({
          callerId: { number: '4155550199', name: 'E2E' },
          script: [
            waitForAgentSilence(700, 15_000),
            say('tts:what are your opening hours'),
            waitForAgentSilence(700, 20_000),
            say('tts:okay goodbye'),
            pause(15_000),
          ],
        });
        const report = await call.done;
        const [record] = await finishedCalls(sut.control, 1);
        assert.ok(record);
        assert.ok(report.firstAgentAudioMs !== null, 'no greeting was heard');
        assert.ok(report.turns.length >= 2, `expected two answered turns, got ${JSON.stringify(report.turns)}`);
        assert.equal(record.outcome, 'completed', JSON.stringify(record.turns));
        assert.equal(report.endedBy, 'engine-hangup', `the agent should hang up; transcript: ${JSON.stringify(report.transcript)}`);

        // The call record says the same, with both sides of the conversation.
        assert.equal(record.transport, transport);
        assert.equal(record.callerNumber, '***0199');
        const agentText = record.turns.filter((t) => t.speaker === 'agent').map((t) => t.text.toLowerCase()).join(' | ');
        assert.match(agentText, /open|hours|monday/, `the agent did not answer the hours question: ${agentText}`);
        assert.ok(record.turns.some((t) => t.speaker === 'caller'), 'no caller turn recorded');
        assert.ok(!sut.engine.stdout().includes('4155550199'), 'the caller number leaked into the log');
        // What the call used of each provider is in its record and in the metrics (the offline server bills
        // nothing, but is counted like any vendor).
        const usage = record.events.find((e) => e.kind === 'usage');
        assert.ok(usage?.kind === 'usage', `no usage in the record: ${JSON.stringify(record.events)}`);
        assert.ok((usage.usage.stt.local?.audioSeconds ?? 0) > 1, JSON.stringify(usage.usage));
        assert.ok((usage.usage.tts.local?.characters ?? 0) > agentText.length / 2, JSON.stringify(usage.usage));
        assert.ok((usage.usage.llm.local?.replies ?? 0) >= 1, JSON.stringify(usage.usage));
        const metrics = await (await fetch(`${sut.control}/metrics`)).text();
        assert.match(metrics, /ai_agent_provider_usage_total\{provider="local",stage="stt",unit="audio_seconds"\} [1-9]/);
        callId = record.id;
      });

      it('the call record survives an engine restart', { skip: transport !== 'rtp' }, async () => {
        assert.ok(callId, 'the call above left no record');
        await sut.restart();
        const { record } = await getJson<{ record: StoredCall }>(`${sut.control}/calls/${callId}`);
        assert.equal(record.outcome, 'completed');
        assert.ok(record.turns.length >= 4, JSON.stringify(record.turns));
      });
    });
  }
});
