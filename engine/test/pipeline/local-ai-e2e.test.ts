// End to end with the real local AI server process: pocketsphinx STT, flite TTS, the rule responder.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { contextSchema, createLogger } from '@ai-agent/common';
import { jsonLines, startService, type ServiceProcess } from '@ai-agent/common/testing';
import { ProviderRegistry } from '../../src/providers/registry.ts';
import { prompt8k } from './helpers/audio.ts';
import { closeVad, startCall } from './helpers/harness.ts';

const log = createLogger({ service: 'pipeline-e2e', level: 'silent' });

async function startLocalAi(): Promise<{ proc: ServiceProcess; url: string }> {
  const proc = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0', LOG_LEVEL: 'info' });
  const line = await proc.waitFor(/local AI server listening/, 30_000);
  const port = jsonLines(line)[0]?.port as number;
  return { proc, url: `ws://127.0.0.1:${port}` };
}

describe('conversation with the real local AI server', () => {
  let server: { proc: ServiceProcess; url: string };
  let registry: ProviderRegistry;
  before(async () => {
    server = await startLocalAi();
    registry = new ProviderRegistry({ local: { type: 'local_ai', url: server.url, connect_timeout_ms: 3000 } }, log, {});
  });
  after(async () => {
    await registry?.close();
    await server?.proc.stop();
    await closeVad();
  });

  test('greeting, a spoken question and a spoken answer', async (t) => {
    const context = contextSchema.parse({});
    const providers = registry.forContext('default', context);
    const call = await startCall({ providers });
    t.after(() => call.close());
    const greeting = await call.caller.waitForAgentAudio(call.startedAt, 3000);
    assert.ok(greeting !== null, 'greeting heard');
    assert.ok(await call.caller.waitForAgentSilence(greeting, 500, 10_000));
    await call.caller.say(prompt8k('vm-goodbye'));
    const answer = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 8000);
    assert.ok(answer !== null, 'the responder answered aloud');
    const callerTurn = call.sink.turns.find((x) => x.speaker === 'caller');
    assert.ok(callerTurn && callerTurn.text.length > 0, 'the caller was transcribed');
    assert.ok(await call.caller.waitForAgentSilence(answer, 500, 15_000));
    const agentTurns = call.sink.turns.filter((x) => x.speaker === 'agent');
    assert.ok(agentTurns.length >= 2 && agentTurns[1].latency?.totalMs !== undefined, 'reply latency recorded');
  });

  test('the server dies mid-call: the caller\'s next words get the stock apology and a clean hangup', async (t) => {
    const local = await startLocalAi();
    const own = new ProviderRegistry({ local: { type: 'local_ai', url: local.url, connect_timeout_ms: 3000 } }, log, {});
    t.after(async () => {
      await own.close();
      await local.proc.stop();
    });
    const stock: string[] = [];
    const call = await startCall({
      providers: own.forContext('default', contextSchema.parse({})),
      context: { greeting: '' },
      hooks: { playStockPrompt: async (name) => void stock.push(name) },
    });
    t.after(() => call.close());
    await local.proc.stop('SIGKILL');
    // A recogniser is only taken when the caller talks: speaking is what finds the server gone.
    await call.caller.say(prompt8k('vm-goodbye'));
    assert.equal(await call.ended, 'provider_failure');
    assert.deepEqual(stock, ['apology']);
    assert.equal(call.control.hangups.length, 1);
    assert.ok(call.sink.events.some((e) => e.kind === 'provider_error' && e.stage === 'stt'));
  });
});
