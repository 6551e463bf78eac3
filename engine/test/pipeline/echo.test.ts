// The line's echo of the agent (a 2-wire hybrid returning its audio attenuated and late) must not make the
// agent interrupt itself, while the caller can still interrupt over that echo. The agent speaks a real
// recording (Silero rightly calls its echo speech), the caller real prompts.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { prompt8k } from './helpers/audio.ts';
import { closeVad, startCall } from './helpers/harness.ts';
import { sleep } from './helpers/rtp-caller.ts';
import { ScriptedLlm, ScriptedStt, ScriptedTts, TTS_MS_PER_CHAR } from './helpers/scripted-providers.ts';

after(closeVad);

const REPLY = 'Here is a long answer that keeps going so that the caller has plenty of time to interrupt it somewhere in the middle.';
const REPLY_MS = REPLY.length * TTS_MS_PER_CHAR;

async function echoCall(context: Record<string, unknown> = {}) {
  // Every STT final (echo decoded as words, or the caller) reads as a real interruption.
  const stt = new ScriptedStt(Array.from({ length: 50 }, () => 'please stop now'));
  const tts = new ScriptedTts('voice', 10, prompt8k('vm-options'));
  const call = await startCall({
    providers: { stt, llm: new ScriptedLlm(() => [{ type: 'text', text: REPLY }]), tts },
    context: { greeting: '', limits: { no_input_seconds: 60 }, ...context },
  });
  call.caller.echo = { lossDb: 12, delayMs: 60 };
  await call.caller.say(prompt8k('vm-goodbye'));
  const start = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000);
  assert.ok(start !== null, 'the agent answered');
  return { call, start };
}

describe('echo of the agent on the line', () => {
  test('does not interrupt the agent (12 dB return loss, 60 ms): the reply plays to the end', async (t) => {
    const { call, start } = await echoCall();
    t.after(() => call.close());
    assert.ok(await call.caller.waitForAgentSilence(start, 400, REPLY_MS + 5000), 'the reply ended');
    // The recording has pauses: what counts is that the agent's audio lasted the whole reply.
    const lasted = call.caller.audibleAt[call.caller.audibleAt.length - 1] - start;
    assert.ok(lasted >= REPLY_MS * 0.9, `agent audio lasted ${Math.round(lasted)} ms of a ${REPLY_MS} ms reply`);
    assert.equal(call.conv.stats.bargeIns, 0);
    assert.deepEqual(call.sink.events.filter((e) => e.kind === 'barge_in'), []);
    const agent = call.sink.turns.find((x) => x.speaker === 'agent');
    assert.equal(agent?.interrupted, false);
  });

  test('the caller still interrupts over the echo, within a VAD window or few', async (t) => {
    // The caller's prompt pauses ~380 ms mid-sentence: a longer endpointing keeps it one turn, so a second
    // barge-in (the caller resuming over the next reply) cannot be counted as this one.
    const { call, start } = await echoCall({ endpointing_ms: 800 });
    t.after(() => call.close());
    await sleep(1200);
    await call.caller.say(prompt8k('agent-pass'));
    const stopMs = call.caller.agentStopAfter(call.caller.speechOnsetAt);
    assert.ok(call.caller.speechOnsetAt > start);
    assert.equal(call.conv.stats.bargeIns, 1);
    assert.ok(stopMs < 400, `agent audio stopped ${Math.round(stopMs)} ms after the caller began`);
    const agent = call.sink.turns.find((x) => x.speaker === 'agent');
    assert.equal(agent?.interrupted, true);
  });

  test('with the guard off (echo_margin_db: 0) the same echo makes the agent interrupt itself', async (t) => {
    // Proves the echo in this test is real: the guard is what keeps the first test green.
    const { call, start } = await echoCall({ barge_in: { echo_margin_db: 0 } });
    t.after(() => call.close());
    await call.caller.waitForAgentSilence(start, 400, REPLY_MS + 5000);
    assert.ok(call.conv.stats.bargeIns + call.conv.stats.falseBargeIns > 0, JSON.stringify(call.conv.stats));
  });
});
