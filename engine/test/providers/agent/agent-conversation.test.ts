// AgentConversation on a real RTP media stream (the caller plays Asterisk's side over loopback UDP), with the
// real OpenAI Realtime adapter and SDK against the local Realtime stand-in: failures, DTMF, no input, tools,
// and warm start (the session opened through the conversation factory before the call has media).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { contextSchema, providerInstanceSchema } from '@ai-agent/common';
import { mulawEncode } from '@ai-agent/common/audio';
import { startOpenAiFake, tone, waitUntil, type OpenAiFake } from '@ai-agent/test-peers';
import { AgentConversation } from '../../../src/pipeline/agent-conversation.ts';
import { conversationFactory, type ConversationFactoryDeps } from '../../../src/pipeline/conversation-factory.ts';
import type { ProviderRegistry } from '../../../src/providers/registry.ts';
import { OpenAiRealtimeAgent, type OpenAiRealtimeConfig } from '../../../src/providers/openai/realtime.ts';
import type { CallOutcome } from '../../../src/call/index.ts';
import { RtpMediaServer } from '../../../src/transport/rtp/rtp-server.ts';
import { log, RecordingControl, RecordingSink } from '../../pipeline/helpers/harness.ts';
import { RtpCaller, sleep } from '../../pipeline/helpers/rtp-caller.ts';

const KEY = 'sk-conversation-test-0123456789';

describe('AgentConversation (OpenAI Realtime stand-in, RTP media)', () => {
  let fake: OpenAiFake;
  let config: OpenAiRealtimeConfig;
  const cleanups: Array<() => Promise<void> | void> = [];

  before(async () => {
    fake = await startOpenAiFake({ apiKey: KEY, tls: true });
    config = providerInstanceSchema.parse({ type: 'openai_realtime', base_url: fake.baseURL }) as OpenAiRealtimeConfig;
  });
  after(async () => {
    for (const c of cleanups.splice(0)) await c();
    await fake.close();
  });

  async function startCall(context: Record<string, unknown> = {}, apiKey = KEY) {
    const server = new RtpMediaServer({ log, portMin: 0, portMax: 0 });
    const media = await server.allocate(`agent-${Math.random().toString(36).slice(2, 8)}`, 'ulaw');
    const caller = new RtpCaller();
    media.setRemote('127.0.0.1', await caller.bind());
    const control = new RecordingControl();
    control.media = media;
    const sink = new RecordingSink();
    const stockPrompts: string[] = [];
    const conv = new AgentConversation({
      call: { id: media.id, context: 'default', transport: 'rtp', codec: 'ulaw' },
      media,
      control,
      context: contextSchema.parse({ greeting: '', tools: ['hangup', 'send_dtmf'], ...context }),
      agent: new OpenAiRealtimeAgent('rt', config, { apiKey, log, ca: fake.ca }),
      sink,
      log,
      hooks: { playStockPrompt: async (name) => void stockPrompts.push(name) },
    });
    const ended = new Promise<CallOutcome>((resolve) => conv.once('ended', resolve));
    caller.start(media.port);
    const close = async (): Promise<void> => {
      conv.close();
      media.close('test end');
      server.close();
      caller.close();
      await sleep(5);
    };
    cleanups.push(close);
    await conv.start();
    return { conv, caller, control, sink, stockPrompts, ended, close, rt: () => fake.realtime.sessions.at(-1)! };
  }

  it('the agent failing at start (refused key): stock apology, hangup, provider_error recorded', async () => {
    const call = await startCall({}, 'sk-wrong-key');
    assert.equal(await call.ended, 'provider_failure');
    assert.deepEqual(call.stockPrompts, ['apology']);
    assert.equal(call.control.hangups.length, 1);
    const event = call.sink.events.find((e) => e.kind === 'provider_error');
    assert.ok(event && event.kind === 'provider_error' && event.stage === 'agent' && /OPENAI_API_KEY/.test(event.message));
  });

  it('the agent failing mid-call: stock apology, hangup, the session is released', async () => {
    fake.realtime.responses.push({ text: 'This breaks.', fault: { kind: 'error', afterChunks: 1, code: 'server_error' } });
    const call = await startCall();
    const rt = call.rt();
    call.caller.dtmf('1');
    call.caller.dtmf('#');
    assert.equal(await call.ended, 'provider_failure');
    assert.deepEqual(call.stockPrompts, ['apology']);
    await waitUntil(() => rt.closed);
  });

  it('DTMF reaches the agent as text; a bad tool call returns an error to the model and the call goes on', async () => {
    fake.realtime.responses.push({ toolCalls: [{ id: 'c1', name: 'send_dtmf', arguments: { digits: 'not digits' } }] }, { text: 'Which digits?', audio: { ms: 300 } });
    const call = await startCall();
    const rt = call.rt();
    call.caller.dtmf('4');
    call.caller.dtmf('2');
    call.caller.dtmf('#');
    const output = (await waitUntil(() => rt.received.find((e) => e.type === 'conversation.item.create' && (e as { item: { type: string } }).item.type === 'function_call_output'), 8000)) as { item: { output: string } };
    assert.match(output.item.output, /^error: invalid arguments for send_dtmf/);
    const text = rt.received.find((e) => e.type === 'conversation.item.create' && (e as { item: { type: string } }).item.type === 'message') as { item: { content: Array<{ text: string }> } };
    assert.equal(text.item.content[0]!.text, '[DTMF 42#]');
    await waitUntil(() => call.sink.turns.some((t) => t.speaker === 'agent' && t.text === 'Which digits?'), 8000);
    assert.deepEqual(call.control.dtmf, []);
    assert.ok(call.sink.events.some((e) => e.kind === 'dtmf' && e.digits === '42#'));
    assert.equal(call.conv.state, 'listening');
    await call.close();
    await waitUntil(() => rt.closed);
    call.conv.close(); // idempotent
  });

  it('warm start: prepare() opens and configures the session before the call has media; the call takes it and greets on it', async () => {
    fake.realtime.responses.push({ text: 'Welcome to the line.', audio: { ms: 300 } });
    const agent = new OpenAiRealtimeAgent('rt', config, { apiKey: KEY, log, ca: fake.ca });
    const context = contextSchema.parse({ greeting: 'Welcome to the line.', tools: ['hangup'], provider: { type: 'agent', agent: 'rt' } });
    const factory = conversationFactory({
      providers: { agentForContext: () => agent } as unknown as ProviderRegistry,
      contextFor: () => context,
    } as unknown as ConversationFactoryDeps);
    const control = new RecordingControl();
    const info = { id: 'warm-call', context: 'default', transport: 'rtp' as const, codec: 'ulaw' };
    const opened = fake.realtime.sessions.length;
    const release = factory.prepare!({ info, control, log });
    const handle = await waitUntil(() => (fake.realtime.sessions[opened]?.configuredAt ? fake.realtime.sessions[opened] : undefined));
    assert.deepEqual(handle.config.audio?.input?.format, { type: 'audio/pcmu' }, 'set up for the call\'s µ-law');
    assert.deepEqual(handle.config.tools?.map((t) => ('name' in t ? t.name : '')), ['hangup']);
    assert.ok(!handle.received.some((e) => e.type === 'response.create'), 'no greeting before anyone listens');

    // Only now does the call get its media.
    const server = new RtpMediaServer({ log, portMin: 0, portMax: 0 });
    const media = await server.allocate(info.id, 'ulaw');
    const caller = new RtpCaller();
    media.setRemote('127.0.0.1', await caller.bind());
    control.media = media;
    const sink = new RecordingSink();
    const conv = factory({ info, media, control, record: sink, log, dtmfFromMedia: true });
    cleanups.push(() => {
      conv.close();
      media.close('test end');
      server.close();
      caller.close();
    });
    caller.start(media.port);
    await conv.start();
    await waitUntil(() => sink.turns.some((t) => t.speaker === 'agent' && t.text === 'Welcome to the line.'), 8000);
    assert.ok(caller.audibleAt.length > 0, 'the caller heard the greeting');
    assert.equal(fake.realtime.sessions.length, opened + 1, 'no second session');
    // The caller's µ-law reaches the vendor as it left the caller, packet by packet.
    const speech = tone({ hz: 300, ms: 400, rate: 8000, amplitude: 0.3 });
    const samples = new Int16Array(speech.buffer, speech.byteOffset, speech.length / 2);
    await caller.say(samples);
    const bytes = Buffer.from(mulawEncode(samples));
    await waitUntil(() => Buffer.concat(handle.inputAudio).includes(bytes));
    release(); // taken: nothing to release
    assert.equal(handle.closed, false);
    conv.close();
    await waitUntil(() => handle.closed);

    // A call that ends before its conversation is made releases the session opened for it.
    const releaseUnused = factory.prepare!({ info: { ...info, id: 'gone-call' }, control, log });
    const unused = await waitUntil(() => (fake.realtime.sessions[opened + 1]?.configuredAt ? fake.realtime.sessions[opened + 1] : undefined));
    releaseUnused();
    await waitUntil(() => unused.closed);
  });

  it('no input: the agent is asked to reprompt, then says the farewell and hangs up', async () => {
    fake.realtime.responses.push({ text: 'Are you still there?', audio: { ms: 300 } }, { text: 'Goodbye!', audio: { ms: 300 } });
    const call = await startCall({ limits: { no_input_seconds: 1, no_input_prompts: 1 }, farewell: 'Goodbye!' });
    assert.equal(await call.ended, 'no_input');
    const instructions = call.rt().received.filter((e) => e.type === 'response.create').map((e) => (e as { response?: { instructions?: string } }).response?.instructions ?? '');
    assert.equal(instructions.length, 2);
    assert.match(instructions[0]!, /Are you still there\?/);
    assert.match(instructions[1]!, /Goodbye!/);
    assert.equal(call.control.hangups[0]?.reason, 'no_input');
    assert.deepEqual(call.sink.turns.map((t) => t.text), ['Are you still there?', 'Goodbye!']);
  });
});
