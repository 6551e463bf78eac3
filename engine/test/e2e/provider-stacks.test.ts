// One engine process, four provider stacks, chosen per call by the dialplan's AI_CONTEXT alone (the contexts
// differ only in config): offline (the local AI server), Deepgram STT + OpenAI LLM + Deepgram TTS, OpenAI
// Realtime, and the Deepgram Voice Agent. The vendors are played by their stand-ins in this process (the real
// SDKs in the engine), Asterisk by the test peer, the caller speaking synthesised lines over RTP µ-law. The
// cloud pipeline's model is then killed mid-call: its local fallback answers the next turn.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import {
  bargeIn, hangup, pause, say, startDeepgramFake, startOpenAiFake, waitForAgent, waitForAgentSilence, type DeepgramFake, type OpenAiFake,
} from '@ai-agent/test-peers';
import { finishedCalls, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

const OPENAI_KEY = 'sk-e2e-stacks-0123456789abcdef';
const DEEPGRAM_KEY = 'dg-e2e-stacks-0123456789abcdef';
const QUESTION = 'what are your opening hours';

const CONTEXTS = `default:
  greeting: Thank you for calling. How can I help?
  tools: [hangup]
cloud:
  greeting: Welcome to the cloud line.
  tools: [hangup]
  provider: { type: pipeline, stt: dg, llm: oa, tts: dg, fallback: { llm: local } }
realtime:
  greeting: Thanks for calling the agent line.
  tools: [hangup]
  provider: { type: agent, agent: rt }
voice_agent:
  greeting: Hello from the voice agent.
  tools: [hangup]
  provider: { type: agent, agent: voice }`;

describe('one engine, a provider stack per context', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-stacks-'));
  let localAi: ServiceProcess;
  /** The pipeline's model (plain http on loopback, killed mid-call) and Realtime (the SDK always dials wss). */
  let openai: OpenAiFake;
  let realtime: OpenAiFake;
  let deepgram: DeepgramFake;
  let sut: EngineUnderTest;

  before(async () => {
    let port: number;
    [{ proc: localAi, port }, openai, realtime, deepgram] = await Promise.all([
      startLocalAi(),
      startOpenAiFake({ apiKey: OPENAI_KEY }),
      startOpenAiFake({ apiKey: OPENAI_KEY, tls: true }),
      startDeepgramFake({ apiKey: DEEPGRAM_KEY }),
    ]);
    const ca = join(dir, 'openai-fake-ca.pem');
    writeFileSync(ca, realtime.ca!);
    sut = await startEngine({
      dir,
      name: 'stacks',
      localAiPort: port,
      telephony: 'transport: rtp\nrtp_format: ulaw',
      providers: [
        `oa: { type: openai, base_url: "${openai.baseURL}" }`,
        `dg: { type: deepgram, base_url: "${deepgram.environment.base}" }`,
        `rt: { type: openai_realtime, base_url: "${realtime.baseURL}", voice: marin }`,
        `voice: { type: deepgram_agent, agent_url: "${deepgram.environment.agent}", sample_rate: 24000 }`,
      ].join('\n'),
      contexts: CONTEXTS,
      env: { OPENAI_API_KEY: OPENAI_KEY, DEEPGRAM_API_KEY: DEEPGRAM_KEY, NODE_EXTRA_CA_CERTS: ca },
    });
  });
  after(async () => {
    await sut?.stop();
    await localAi?.stop();
    await Promise.all([openai, realtime, deepgram].map((f) => f?.close().catch(() => undefined)));
  });

  it('offline: the local AI server recognises, answers and speaks', async () => {
    const vendorRequests = (): number => openai.requests.length + realtime.requests.length + deepgram.requests.length;
    // The engine made each pipeline context's greeting at start (the cloud one with Deepgram): count from here.
    const before = vendorRequests();
    const call = await sut.peer.placeCall({
      variables: { AI_CONTEXT: 'default' },
      script: [waitForAgentSilence(700, 15_000), say(`tts:${QUESTION}`), waitForAgent(15_000), waitForAgentSilence(700, 20_000), hangup()],
    });
    const report = await call.done;
    const [record] = await finishedCalls(sut.control, 1);
    assert.ok(report.firstAgentAudioMs !== null, 'no greeting was heard');
    assert.ok(report.turns.length >= 1 && report.turns[0]!.responseLatencyMs !== null, `no answer heard: ${JSON.stringify(report.turns)}`);
    const turns = record!.turns.map((t) => `${t.speaker}: ${t.text}`);
    assert.equal(turns[0], 'agent: Thank you for calling. How can I help?', turns.join('\n'));
    assert.ok(turns.some((t) => /^agent: .*(monday|open)/i.test(t)), turns.join('\n'));
    // Nothing went to a vendor.
    assert.equal(vendorRequests(), before);
  });

  it('Deepgram + OpenAI pipeline; the model killed mid-call, the local fallback answers the next turn', async () => {
    deepgram.listen.scripts.push({ heard: [QUESTION, QUESTION] });
    const call = await sut.peer.placeCall({
      variables: { AI_CONTEXT: 'cloud' },
      script: [
        waitForAgentSilence(700, 15_000), say(`tts:${QUESTION}`), waitForAgent(15_000), waitForAgentSilence(700, 20_000),
        say(`tts:${QUESTION}`), waitForAgent(15_000), waitForAgentSilence(700, 20_000), hangup(),
      ],
    });
    // The vendor goes away once it has answered the first question.
    const asked = Date.now() + 30_000;
    while (!openai.requests.some((r) => r.path === '/v1/chat/completions') && Date.now() < asked) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    await openai.close();
    const report = await call.done;
    const [record] = await finishedCalls(sut.control, 1, 20_000);
    const agent = record!.turns.filter((t) => t.speaker === 'agent').map((t) => t.text);
    assert.equal(agent[0], 'Welcome to the cloud line.');
    const cloud = agent.findIndex((t) => t === `You said: ${QUESTION}`);
    assert.ok(cloud > 0, `the cloud model answered the first question: ${JSON.stringify(agent)}`);
    assert.ok(agent.slice(cloud + 1).some((t) => /monday|open/i.test(t)), `the local fallback answered the next one: ${JSON.stringify(agent)}`);
    // The caller heard both answers (the fallback's too), spoken by Deepgram.
    assert.equal(report.turns.filter((t) => t.responseLatencyMs !== null).length, 2, JSON.stringify(report.turns));
    assert.ok(deepgram.requests.filter((r) => r.path === '/v1/speak').length >= 3, 'greeting and both answers spoken by Deepgram');
    // Deepgram was sent the call's µ-law as it is, and recognised both questions in it.
    const listen = deepgram.listen.sessions.at(-1)!;
    assert.deepEqual([listen.query.encoding, listen.query.sample_rate], ['mulaw', '8000']);
    assert.equal(record!.turns.filter((t) => t.speaker === 'caller' && t.text === QUESTION).length, 2);
    // Warm start: the STT socket was up before the caller's first word, the model's first request found its
    // connection open.
    const firstWordAt = Date.parse(report.startedAt) + report.turns[0]!.onsetMs;
    assert.ok(deepgram.requests.filter((r) => r.path === '/v1/listen').at(-1)!.receivedAt < firstWordAt, 'the STT socket opened after the caller spoke');
    const chat = openai.requests.find((r) => r.path === '/v1/chat/completions')!;
    assert.ok(chat.connection.earlierRequests > 0, `the model's first request opened its own connection: ${JSON.stringify(chat.connection)}`);
    const ready = (await (await fetch(`${sut.control}/ready`)).json()) as { unhealthyProviders?: Array<{ provider: string; stage: string }> };
    assert.deepEqual(ready.unhealthyProviders, [{ provider: 'oa', stage: 'llm' }]);
    assert.match(await (await fetch(`${sut.control}/metrics`)).text(), /ai_agent_provider_healthy\{provider="oa",stage="llm"\} 0/);
  });

  it('OpenAI Realtime: greets, answers, is barged in on (truncated to what was heard), and hangs up after the farewell', async () => {
    realtime.realtime.responses.push(
      { text: 'Thanks for calling the agent line.', audio: { ms: 1200 } },
      { text: 'We are open from nine in the morning until five in the evening on every weekday and on Saturdays.', audio: { ms: 6000 } },
      { text: 'Goodbye!', audio: { ms: 800 }, toolCalls: [{ name: 'hangup', arguments: { reason: 'caller done' } }] },
    );
    realtime.realtime.transcripts.push(QUESTION, 'stop please I want to talk to a person');
    const call = await sut.peer.placeCall({
      callerId: { number: '4155550123', name: 'E2E' },
      variables: { AI_CONTEXT: 'realtime' },
      script: [
        waitForAgentSilence(600, 10_000),
        say(`tts:${QUESTION}`),
        bargeIn(1500, 'tts:stop please I want to talk to a person', 15_000),
        waitForAgentSilence(600, 15_000),
        pause(8_000),
      ],
    });
    const report = await call.done;
    const [record] = await finishedCalls(sut.control, 1);
    assert.ok(record);
    const rt = realtime.realtime.sessions.at(-1)!;

    // The session the engine opened: the context's prompt, the provider's voice, the hangup tool, the call's µ-law.
    assert.equal(rt.config.audio?.output?.voice, 'marin');
    assert.deepEqual([rt.config.audio?.input?.format, rt.config.audio?.output?.format], [{ type: 'audio/pcmu' }, { type: 'audio/pcmu' }]);
    assert.deepEqual(rt.config.tools?.map((t) => ('name' in t ? t.name : '')), ['hangup']);
    assert.ok(report.firstAgentAudioMs !== null && report.firstAgentAudioMs < 5000, 'the greeting was not heard');
    // Caller speech reached the stand-in (its VAD heard both utterances).
    assert.equal(rt.sent.filter((e) => e.type === 'input_audio_buffer.speech_started').length, 2, JSON.stringify(report.transcript));

    // Barge-in: agent audio stopped on the wire soon after the caller spoke over it…
    const [barge] = report.bargeIns;
    assert.ok(barge && barge.agentStopMs !== null && barge.agentStopMs < 1500, `agent did not stop: ${JSON.stringify(report.bargeIns)}`);
    // …and the stand-in was told how much of the reply the caller heard: close to what the caller received.
    const truncate = rt.received.find((e) => e.type === 'conversation.item.truncate') as { audio_end_ms: number } | undefined;
    assert.ok(truncate, 'no truncate was sent');
    const spurt = report.agentSpurts.find((s) => s.startMs <= barge.onsetMs && s.endMs >= barge.onsetMs)!;
    assert.ok(spurt, JSON.stringify(report.agentSpurts));
    const received = spurt.endMs - spurt.startMs;
    assert.ok(Math.abs(truncate.audio_end_ms - received) < 400, `truncate ${truncate.audio_end_ms} ms vs ${received} ms received`);
    assert.ok(truncate.audio_end_ms < 6000);

    // The hangup tool ended the call once the farewell had played.
    assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
    assert.equal(record.outcome, 'completed');
    const last = report.agentSpurts.at(-1)!;
    assert.ok(last.endMs - last.startMs >= 600, `the farewell was cut: ${JSON.stringify(report.agentSpurts)}`);

    // The call record: turns of both sides (the interrupted one cut to what was heard), barge-in and tool events.
    const turns = record.turns.map((t) => `${t.speaker}${t.interrupted ? '*' : ''}: ${t.text}`);
    assert.equal(turns[0], 'agent: Thanks for calling the agent line.', turns.join('\n'));
    assert.ok(turns.includes(`caller: ${QUESTION}`), turns.join('\n'));
    const cut = record.turns.find((t) => t.interrupted);
    assert.ok(cut && cut.text.length > 0 && cut.text.length < 90 && 'We are open from nine'.startsWith(cut.text.slice(0, 5)), turns.join('\n'));
    assert.ok(turns.includes('agent: Goodbye!'), turns.join('\n'));
    assert.ok(record.events.some((e) => e.kind === 'barge_in'));
    assert.ok(record.events.some((e) => e.kind === 'tool_call' && e.name === 'hangup'));
    assert.ok(!sut.engine.stdout().includes(OPENAI_KEY), 'the API key leaked into the log');
  });

  it('Deepgram Voice Agent: greets, answers the caller, runs the hangup function and hangs up after the farewell', async () => {
    // The stand-in's user turns are clocked by the audio it received: the caller speaks at ~3 s.
    deepgram.agent.scripts.push({ utterances: [{ atMs: 3000, text: 'goodbye then', durationMs: 800 }] });
    deepgram.agent.replies.push({ text: 'Goodbye!', functionCalls: [{ id: 'fc_1', name: 'hangup', arguments: {} }], audio: { ms: 700 } });
    const call = await sut.peer.placeCall({
      callerId: { number: '4155550124', name: 'E2E' },
      variables: { AI_CONTEXT: 'voice_agent' },
      script: [waitForAgentSilence(600, 10_000), say('tts:goodbye then'), pause(10_000)],
    });
    const report = await call.done;
    const [record] = await finishedCalls(sut.control, 1);
    const dg = deepgram.agent.sessions.at(-1)!;
    // The call's µ-law as it is (the configured 24 kHz is for linear calls); the session was opened while the
    // media was set up, so the greeting is asked for once the caller can hear it, not in Settings.
    assert.deepEqual(dg.settings?.audio.input, { encoding: 'mulaw', sample_rate: 8000 });
    assert.equal(dg.settings?.agent.greeting, undefined);
    assert.equal(dg.received.find((m) => m.type === 'InjectAgentMessage')?.message, 'Hello from the voice agent.');
    assert.ok(report.firstAgentAudioMs !== null, 'the greeting was not heard');
    assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
    assert.equal(record?.outcome, 'completed');
    const turns = record!.turns.map((t) => `${t.speaker}: ${t.text}`);
    assert.deepEqual(turns.slice(0, 2), ['agent: Hello from the voice agent.', 'caller: goodbye then'], turns.join('\n'));
    assert.ok(record!.events.some((e) => e.kind === 'tool_call' && e.name === 'hangup'));
    assert.ok(!sut.engine.stdout().includes(DEEPGRAM_KEY), 'the API key leaked into the log');
  });
});
