import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ChatMessage } from '../../src/providers/types.ts';
import { prompt8k, speak8k } from './helpers/audio.ts';
import { closeVad, startCall, until } from './helpers/harness.ts';
import { sleep } from './helpers/rtp-caller.ts';
import { ScriptedLlm, ScriptedStt, ScriptedTts, TTS_MS_PER_CHAR } from './helpers/scripted-providers.ts';

after(closeVad);

const lastUser = (m: readonly ChatMessage[]) => [...m].reverse().find((x) => x.role === 'user')?.content ?? '';

describe('conversation over a real RTP media stream', () => {
  test('greets at once, answers the caller, and records the turn with its latency', async (t) => {
    const stt = new ScriptedStt(['what are your opening hours']);
    const llm = new ScriptedLlm((m) => [{ type: 'text', text: `You asked: ${lastUser(m)}. We are open from nine to five.` }]);
    const tts = new ScriptedTts();
    const call = await startCall({ providers: { stt, llm, tts }, context: { greeting: 'Hello, this is the test line.' } });
    t.after(() => call.close());

    const first = await call.caller.waitForAgentAudio(call.startedAt, 2000);
    assert.ok(first !== null, 'greeting heard');
    assert.ok(first - call.startedAt < 300, `greeting started ${Math.round(first - call.startedAt)} ms after start`);
    assert.ok(await call.caller.waitForAgentSilence(first, 400), 'greeting ended');
    assert.equal(call.conv.state, 'listening');

    await call.caller.say(prompt8k('vm-goodbye'));
    const spokeAt = call.caller.lastSpeechEndAt;
    const answer = await call.caller.waitForAgentAudio(spokeAt, 5000);
    assert.ok(answer !== null, 'answer heard');
    assert.equal(llm.requests.length, 1);
    const req = llm.requests[0];
    assert.equal(req[0].role, 'system');
    assert.deepEqual(req.slice(1).map((m) => [m.role, m.content]), [
      ['assistant', 'Hello, this is the test line.'],
      ['user', 'what are your opening hours'],
    ]);
    assert.ok(stt.streams[0].finalizeCalls >= 1, 'endpointing finalized the STT');
    assert.ok(await call.caller.waitForAgentSilence(answer, 500));
    const agentTurn = call.sink.turns.find((x) => x.speaker === 'agent' && x.text.startsWith('You asked'));
    assert.ok(agentTurn, 'agent turn recorded');
    assert.equal(agentTurn.interrupted, false);
    assert.ok(agentTurn.latency?.totalMs !== undefined && agentTurn.latency.totalMs > 0, 'turn latency measured');
    assert.ok(agentTurn.latency.endpointingMs! >= call.context.endpointing_ms - 40, 'endpointing delay honoured');
    // Sentences were synthesised separately (pipelined), the first possibly as a clause.
    assert.ok(tts.texts.length >= 3, `tts requests: ${JSON.stringify(tts.texts)}`);
  });

  test('barge-in mid-sentence stops the agent at once and cuts the history to the heard words', async (t) => {
    const long = 'Our opening hours are from nine in the morning until five in the evening on weekdays and from ten until two on saturdays';
    const stt = new ScriptedStt(['hours please', 'stop please wait']);
    const llm = new ScriptedLlm((m) => [{ type: 'text', text: lastUser(m).startsWith('hours') ? long : 'Sure, I will wait.' }]);
    const tts = new ScriptedTts();
    const call = await startCall({ providers: { stt, llm, tts }, context: { greeting: '' } });
    t.after(() => call.close());

    await call.caller.say(prompt8k('vm-goodbye'));
    const replyAt = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000);
    assert.ok(replyAt !== null);
    await sleep(1500);
    await call.caller.say(prompt8k('vm-goodbye'));
    const onset = call.caller.speechOnsetAt;
    const reaction = call.caller.agentStopAfter(onset);
    // Two 32 ms VAD windows, window alignment and the loop: a few frames after the speech onset.
    assert.ok(reaction < 160, `agent audio stopped ${Math.round(reaction)} ms after the caller started`);
    const heardMs = call.caller.audibleMs(replyAt, onset + 1000);

    assert.ok(await until(() => llm.requests.length === 2, 5000), 'the interruption became the next turn');
    const history = llm.requests[1];
    const cut = history[history.length - 2];
    assert.equal(cut.role, 'assistant');
    assert.ok(long.startsWith(cut.content), `history holds a prefix of the reply: "${cut.content}"`);
    assert.ok(cut.content.length < long.length, 'history was cut');
    const expectedChars = heardMs / TTS_MS_PER_CHAR;
    assert.ok(Math.abs(cut.content.length - expectedChars) < 12, `heard ${cut.content.length} chars, audio says ~${Math.round(expectedChars)}`);
    assert.deepEqual(history[history.length - 1], { role: 'user', content: 'stop please wait' });
    assert.equal(call.conv.stats.bargeIns, 1);
    const record = call.sink.events.find((e) => e.kind === 'barge_in');
    assert.ok(record && record.kind === 'barge_in' && record.heardText === cut.content);
    const agentTurn = call.sink.turns.find((x) => x.speaker === 'agent' && x.interrupted);
    assert.equal(agentTurn?.text, cut.content);
  });

  test('a backchannel ("yeah") does not interrupt: the agent resumes and finishes its sentence', async (t) => {
    const long = 'Let me read you the full list of our branch offices and their opening hours for the coming week';
    const stt = new ScriptedStt(['branches', 'yeah']);
    const llm = new ScriptedLlm(() => [{ type: 'text', text: long }]);
    const tts = new ScriptedTts();
    const call = await startCall({ providers: { stt, llm, tts }, context: { greeting: '' } });
    t.after(() => call.close());

    await call.caller.say(prompt8k('vm-goodbye'));
    const replyAt = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000);
    assert.ok(replyAt !== null);
    await sleep(1200);
    await call.caller.say(speak8k('yeah'));
    assert.ok(await call.caller.waitForAgentSilence(replyAt, 700, 15_000), 'reply finished');
    assert.equal(llm.requests.length, 1, 'no new turn for a backchannel');
    assert.equal(call.conv.stats.bargeIns, 0);
    assert.equal(call.conv.stats.falseBargeIns, 1);
    assert.ok(call.sink.events.some((e) => e.kind === 'false_barge_in'));
    // Everything was heard: the full reply duration, give or take the pause and a frame.
    const fullMs = long.length * TTS_MS_PER_CHAR;
    const heard = call.caller.audibleMs(replyAt);
    assert.ok(Math.abs(heard - fullMs) < 200, `heard ${heard} ms of ${fullMs} ms`);
    const turn = call.sink.turns.find((x) => x.speaker === 'agent');
    assert.equal(turn?.text, long);
    assert.equal(turn?.interrupted, false);
  });
});
