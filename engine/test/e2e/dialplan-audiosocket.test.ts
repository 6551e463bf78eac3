// A call the dialplan hands straight to the AudioSocket listener has no ARI, so no transfer: a caller who
// asks for a person is told so and the call goes on, and the record never claims a transfer.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import { hangup, placeAudioSocketCall, say, waitForAgent, waitForAgentSilence } from '@ai-agent/test-peers';
import { finishedCalls, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

const CONTEXT = `default:
  greeting: Thank you for calling. How can I help?
  tools: [hangup, transfer]
  transfer_targets:
    operator: { context: from-internal, extension: '100', description: a person at the front desk }`;

describe('dialplan AudioSocket calls (no ARI)', { timeout: 120_000 }, () => {
  let localAi: ServiceProcess;
  let sut: EngineUnderTest;
  let audioSocketPort: number;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-dialplan-'));

  before(async () => {
    const ai = await startLocalAi();
    localAi = ai.proc;
    sut = await startEngine({
      dir,
      name: 'dialplan',
      localAiPort: ai.port,
      telephony: 'transport: rtp\ndialplan_audiosocket: { enabled: true, allowed_sources: [127.0.0.1/8, "::1"] }',
      contexts: CONTEXT,
    });
    const line = await sut.engine.waitFor(/audiosocket listening/);
    audioSocketPort = (JSON.parse(line) as { port: number }).port;
  });
  after(async () => {
    await sut?.stop();
    await localAi?.stop();
  });

  it('a caller who asks for a person hears that this line cannot transfer, and the call goes on', async () => {
    const call = await placeAudioSocketCall({
      port: audioSocketPort,
      script: [
        waitForAgentSilence(700, 15_000),
        say('tts:I would like to talk to a person please'),
        waitForAgent(15_000),
        waitForAgentSilence(1000, 20_000),
        say('tts:what are your opening hours'),
        waitForAgent(15_000),
        waitForAgentSilence(1000, 20_000),
        hangup(),
      ],
    });
    const report = await call.done;
    assert.equal(report.endedBy, 'caller-hangup', `the engine ended the call: ${JSON.stringify(report.transcript)}`);
    const [record] = await finishedCalls(sut.control, 1);
    assert.ok(record);
    assert.equal(record.outcome, 'caller_hangup', JSON.stringify(record.turns));
    const agent = record.turns.filter((t) => t.speaker === 'agent').map((t) => t.text.toLowerCase());
    assert.ok(agent.some((t) => /can't put you through/.test(t)), `the agent said it cannot transfer: ${JSON.stringify(agent)}`);
    assert.ok(!agent.some((t) => /putting you through/.test(t)), `the agent announced a transfer it cannot make: ${JSON.stringify(agent)}`);
    assert.ok(agent.some((t) => /monday/.test(t)), `the call went on to the next question: ${JSON.stringify(agent)}`);
    assert.ok(!record.events.some((e) => e.kind === 'tool_call' && e.name === 'transfer'), 'no transfer was attempted');
  });
});

describe('dialplan AudioSocket calls are off unless opted in', { timeout: 120_000 }, () => {
  let localAi: ServiceProcess;
  let sut: EngineUnderTest;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-dialplan-off-'));

  before(async () => {
    const ai = await startLocalAi();
    localAi = ai.proc;
    sut = await startEngine({ dir, name: 'dialplan-off', localAiPort: ai.port, telephony: 'transport: rtp' });
  });
  after(async () => {
    await sut?.stop();
    await localAi?.stop();
  });

  it('a connection with a UUID nobody announced is refused, counted, and starts no call', async () => {
    const line = await sut.engine.waitFor(/audiosocket listening/);
    const port = (JSON.parse(line) as { port: number }).port;
    const socket = connect({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(Buffer.concat([Buffer.from([0x01, 0x00, 0x10]), Buffer.from(randomUUID().replace(/-/g, ''), 'hex')]));
    await closed;
    const metrics = await (await fetch(`${sut.control}/metrics`)).text();
    assert.match(metrics, /ai_agent_media_rejected_total\{source="audiosocket",reason="unknown_uuid"\} 1/);
    const calls = await (await fetch(`${sut.control}/calls`)).json() as { active: unknown[] };
    assert.deepEqual(calls.active, [], 'no call was started');
  });
});
