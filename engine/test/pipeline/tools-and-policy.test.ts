import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { ChatMessage, LlmEvent } from '../../src/providers/types.ts';
import { prompt8k } from './helpers/audio.ts';
import { closeVad, startCall, until } from './helpers/harness.ts';
import { sleep } from './helpers/rtp-caller.ts';
import { ScriptedLlm, ScriptedStt, ScriptedTts, TTS_MS_PER_CHAR } from './helpers/scripted-providers.ts';

after(closeVad);

const toolCall = (name: string, args: unknown, id = `c-${name}`): LlmEvent => ({
  type: 'tool_call',
  call: { id, name, arguments: typeof args === 'string' ? args : JSON.stringify(args) },
});
const lastOf = (m: readonly ChatMessage[]) => m[m.length - 1];

describe('tools, DTMF and the failure policy', () => {
  test('caller DTMF reaches the model as text', async (t) => {
    const llm = new ScriptedLlm(() => [{ type: 'text', text: 'Got it.' }]);
    const call = await startCall({ providers: { stt: new ScriptedStt([]), llm, tts: new ScriptedTts() }, context: { greeting: '' } });
    t.after(() => call.close());
    await sleep(200);
    call.caller.dtmf('4');
    call.caller.dtmf('2');
    assert.ok(await until(() => llm.requests.length === 1, 4000), 'a model request followed the digits');
    assert.deepEqual(lastOf(llm.requests[0]), { role: 'user', content: '[DTMF 42]' });
    assert.ok(call.sink.events.some((e) => e.kind === 'dtmf' && e.digits === '42'));
  });

  test('the hangup tool waits until the farewell has been heard, then hangs up', async (t) => {
    const farewell = 'Thank you for calling, have a lovely day, goodbye.';
    const llm = new ScriptedLlm(() => [{ type: 'text', text: farewell }, toolCall('hangup', { reason: 'caller done' })]);
    const stt = new ScriptedStt(['that is all thanks']);
    const tts = new ScriptedTts();
    const call = await startCall({ providers: { stt, llm, tts }, context: { greeting: '' } });
    t.after(() => call.close());
    await call.caller.say(prompt8k('vm-goodbye'));
    const outcome = await call.ended;
    assert.equal(outcome, 'completed');
    assert.equal(call.control.hangups.length, 1);
    const first = call.caller.audibleAt.find((x) => x >= call.caller.lastSpeechEndAt)!;
    const last = call.caller.audibleAt[call.caller.audibleAt.length - 1];
    const heardMs = call.caller.audibleMs(first);
    const fullMs = tts.texts.join('').length * TTS_MS_PER_CHAR;
    assert.ok(heardMs >= fullMs - 40, `heard ${heardMs} ms of a ${fullMs} ms farewell before the hangup`);
    assert.ok(call.control.hangups[0].at >= last, 'hangup came after the last farewell frame');
    const event = call.sink.events.find((e) => e.kind === 'tool_call');
    assert.ok(event && event.kind === 'tool_call' && event.name === 'hangup');
  });

  test('unknown tools and bad arguments come back to the model as errors; the call goes on', async (t) => {
    let round = 0;
    const llm = new ScriptedLlm((m) => {
      round++;
      if (round === 1) return [toolCall('launch_rockets', {}, 'a'), toolCall('transfer', { target: 'the-moon' }, 'b'), toolCall('send_dtmf', '{not json', 'c')];
      return [{ type: 'text', text: `Sorry, ${lastOf(m).role === 'tool' ? 'that did not work' : 'hm'}.` }];
    });
    const stt = new ScriptedStt(['do something odd']);
    const context = { greeting: '', tools: ['hangup', 'transfer', 'send_dtmf'], transfer_targets: { sales: { context: 'from-ai', extension: '100' } } };
    const call = await startCall({ providers: { stt, llm, tts: new ScriptedTts() }, context });
    t.after(() => call.close());
    assert.deepEqual(llm.tools[0]?.map((x) => x.name) ?? [], []);
    await call.caller.say(prompt8k('vm-goodbye'));
    assert.ok(await until(() => llm.requests.length === 2, 5000));
    assert.deepEqual(llm.tools[0].map((x) => x.name), ['hangup', 'transfer', 'send_dtmf']);
    const results = llm.requests[1].filter((m) => m.role === 'tool');
    assert.equal(results.length, 3);
    assert.match(results[0].content, /^error: unknown tool "launch_rockets"/);
    assert.match(results[1].content, /^error: invalid arguments for transfer: target/);
    assert.match(results[2].content, /^error: the arguments of send_dtmf are not valid JSON/);
    assert.ok(await until(() => call.conv.state === 'listening', 5000), 'call back to listening');
    assert.equal(call.control.transfers.length, 0);
    assert.equal(call.control.hangups.length, 0);
    assert.equal(call.control.dtmf.length, 0);
  });

  test('transfer reaches only an allowlisted target', async (t) => {
    const llm = new ScriptedLlm(() => [{ type: 'text', text: 'Transferring you to sales.' }, toolCall('transfer', { target: 'sales' })]);
    const stt = new ScriptedStt(['sales please']);
    const context = { greeting: '', tools: ['transfer'], transfer_targets: { sales: { context: 'from-ai', extension: '100', priority: 2 } } };
    const call = await startCall({ providers: { stt, llm, tts: new ScriptedTts() }, context });
    t.after(() => call.close());
    await call.caller.say(prompt8k('vm-goodbye'));
    assert.equal(await call.ended, 'transferred');
    assert.deepEqual(call.control.transfers, [{ context: 'from-ai', extension: '100', priority: 2 }]);
  });

  test('an LLM that fails mid-call: spoken apology, then a clean hangup', async (t) => {
    const llm = new ScriptedLlm(() => [{ type: 'text', text: 'Fine.' }]);
    llm.failWith = new Error('model server died');
    const tts = new ScriptedTts();
    const stt = new ScriptedStt(['hello']);
    const call = await startCall({ providers: { stt, llm, tts }, context: { greeting: '' } });
    t.after(() => call.close());
    await call.caller.say(prompt8k('vm-goodbye'));
    assert.equal(await call.ended, 'provider_failure');
    assert.ok(tts.texts.includes(call.context.apology), 'apology synthesised');
    const heard = call.caller.audibleMs(call.caller.lastSpeechEndAt);
    assert.ok(heard >= call.context.apology.length * TTS_MS_PER_CHAR - 60, `apology heard (${heard} ms)`);
    assert.equal(call.control.hangups.length, 1);
    const err = call.sink.events.find((e) => e.kind === 'provider_error');
    assert.ok(err && err.kind === 'provider_error' && err.stage === 'llm');
  });

  test('TTS failing as well: the stock prompt hook plays the apology', async (t) => {
    const tts = new ScriptedTts();
    tts.failWith = new Error('tts gone');
    const stock: string[] = [];
    const llm = new ScriptedLlm(() => [{ type: 'text', text: 'Fine.' }]);
    const call = await startCall({
      providers: { stt: new ScriptedStt([]), llm, tts },
      hooks: { playStockPrompt: async (name) => void stock.push(name) },
    });
    t.after(() => call.close());
    assert.equal(await call.ended, 'provider_failure');
    assert.deepEqual(stock, ['apology']);
    assert.equal(call.control.hangups.length, 1);
  });

  test('STT that cannot open: apology and hangup', async (t) => {
    const stt = new ScriptedStt([]);
    stt.failOpen = true;
    const tts = new ScriptedTts();
    const call = await startCall({ providers: { stt, llm: new ScriptedLlm(() => []), tts }, context: { greeting: '' } });
    t.after(() => call.close());
    assert.equal(await call.ended, 'provider_failure');
    assert.ok(tts.texts.includes(call.context.apology));
  });

  test('no-input watchdog: a reprompt, then a polite hangup', async (t) => {
    const tts = new ScriptedTts();
    const call = await startCall({
      providers: { stt: new ScriptedStt([]), llm: new ScriptedLlm(() => []), tts },
      context: { greeting: 'Hi.', limits: { no_input_seconds: 1, no_input_prompts: 1 } },
    });
    t.after(() => call.close());
    assert.equal(await call.ended, 'no_input');
    assert.deepEqual(tts.texts, ['Hi.', call.context.no_input_prompt, call.context.farewell]);
    assert.equal(call.conv.stats.noInputPrompts, 1);
    assert.equal(call.control.hangups.length, 1);
  });

  test('close() releases everything and is idempotent', async (t) => {
    const llm = new ScriptedLlm(() => [{ type: 'text', text: 'A long answer that is still being spoken when the line drops. '.repeat(3) }]);
    const stt = new ScriptedStt(['tell me everything']);
    const call = await startCall({ providers: { stt, llm, tts: new ScriptedTts() }, context: { greeting: '' } });
    t.after(() => call.close());
    await call.caller.say(prompt8k('vm-goodbye'));
    assert.ok(await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000));
    let ended = 0;
    call.conv.on('ended', () => ended++);
    call.conv.close();
    call.conv.close();
    assert.equal(ended, 1);
    assert.equal(call.conv.state, 'ended');
    assert.equal(stt.streams[0].closed, true, 'STT stream closed');
    assert.equal(llm.signals[0].aborted, true, 'LLM request aborted');
    for (const ev of ['frame', 'dtmf', 'close', 'mark'] as const) assert.equal(call.media.listenerCount(ev), call.baseListeners[ev], `no ${ev} listener left`);
    assert.equal(call.media.queuedSamples, 0, 'queued agent audio dropped');
    const agent = call.sink.turns.find((x) => x.speaker === 'agent');
    assert.equal(agent?.interrupted, true, 'the cut reply is recorded as interrupted');
  });
});
