// End of turn through the real engine, the offline providers and the Asterisk test peer: a caller who reads
// out digits one at a time, with the pauses people leave between them, gives one answer, not several.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { hangup, multiPartAnswer, multiPartAudio, say, waitForAgent, waitForAgentSilence } from '@ai-agent/test-peers';
import { finishedCalls, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

describe('end of turn', { timeout: 180_000 }, () => {
  let localAi: ServiceProcess;
  let sut: EngineUnderTest;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-turns-'));

  before(async () => {
    const ai = await startLocalAi();
    localAi = ai.proc;
    sut = await startEngine({ dir, name: 'turns', localAiPort: ai.port, telephony: 'transport: rtp' });
  });
  after(async () => {
    await sut?.stop();
    await localAi?.stop();
  });

  for (const id of ['digits-1234', 'digits-5807']) {
    const answer = multiPartAnswer(id);
    it(`"${answer.parts.join(', ')}" with ${answer.pausesMs.join('/')} ms pauses fills the digit slot in one turn`, async () => {
      const digits = await multiPartAudio(answer);
      const call = await sut.peer.placeCall({
        script: [
          waitForAgentSilence(700, 15_000),
          say('tts:I forgot my password'),
          waitForAgent(15_000),
          waitForAgentSilence(1000, 20_000),
          say(digits),
          waitForAgent(15_000),
          waitForAgentSilence(1000, 20_000),
          hangup(),
        ],
      });
      await call.done;
      const [record] = await finishedCalls(sut.control, 1);
      assert.ok(record);
      const turns = record.turns.map((t) => `${t.speaker}: ${t.text}`);
      const asked = record.turns.findIndex((t) => t.speaker === 'agent' && /account number/i.test(t.text));
      assert.ok(asked >= 0, `the agent asked for the account number: ${JSON.stringify(turns)}`);
      const answers = record.turns.slice(asked + 1).filter((t) => t.speaker === 'caller');
      assert.equal(answers.length, 1, `one caller turn for the digits: ${JSON.stringify(turns)}`);
      const confirm = record.turns.slice(asked + 1).find((t) => t.speaker === 'agent');
      assert.match(confirm?.text ?? '', /shall i send/i, `the slot was filled: ${JSON.stringify(turns)}`);
    });
  }
});
