import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bargeIn, pause, say, startDeepgramFake, startOpenAiFake, waitForAgentSilence, type DeepgramFake, type OpenAiFake } from '@ai-agent/test-peers';
import { finishedCalls, startEngine, type EngineUnderTest } from './helpers.ts';

// The real engine process with agent contexts: OpenAI Realtime and Deepgram Voice Agent played by their local
// stand-ins (in this process, the real SDKs in the engine), Asterisk by the test peer, the caller speaking
// synthesised lines over RTP.

const OPENAI_KEY = 'sk-e2e-realtime-0123456789abcdef';
const DEEPGRAM_KEY = 'dg-e2e-agent-0123456789abcdef';
/** No local AI server runs here: agent contexts never use the `local` provider the helper configures. */
const UNUSED_PORT = 9;

describe('agent contexts through the real engine', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-agent-'));

  describe('OpenAI Realtime', () => {
    let fake: OpenAiFake;
    let sut: EngineUnderTest;

    before(async () => {
      // The SDK always dials wss://: the stand-in serves TLS with a throwaway CA the engine is told to trust.
      fake = await startOpenAiFake({ apiKey: OPENAI_KEY, tls: true });
      const ca = join(dir, 'openai-fake-ca.pem');
      writeFileSync(ca, fake.ca!);
      sut = await startEngine({
        dir,
        name: 'openai-agent',
        localAiPort: UNUSED_PORT,
        telephony: 'transport: rtp\nrtp_format: ulaw',
        providers: `realtime: { type: openai_realtime, base_url: "${fake.baseURL}", voice: marin }`,
        contexts: 'default:\n  greeting: Thanks for calling the agent line.\n  tools: [hangup]\n  provider: { type: agent, agent: realtime }',
        env: { OPENAI_API_KEY: OPENAI_KEY, NODE_EXTRA_CA_CERTS: ca },
      });
    });
    after(async () => {
      await sut?.stop();
      await fake?.close();
    });

    it('greets, answers, is barged in on (truncated to what was heard), and hangs up after the farewell', async () => {
      fake.realtime.responses.push(
        { text: 'Thanks for calling the agent line.', audio: { ms: 1200 } },
        { text: 'We are open from nine in the morning until five in the evening on every weekday and on Saturdays.', audio: { ms: 6000 } },
        { text: 'Goodbye!', audio: { ms: 800 }, toolCalls: [{ name: 'hangup', arguments: { reason: 'caller done' } }] },
      );
      fake.realtime.transcripts.push('what are your opening hours', 'stop please I want to talk to a person');
      const call = await sut.peer.placeCall({
        callerId: { number: '4155550123', name: 'E2E' },
        script: [
          waitForAgentSilence(600, 10_000),
          say('tts:what are your opening hours'),
          bargeIn(1500, 'tts:stop please I want to talk to a person', 15_000),
          waitForAgentSilence(600, 15_000),
          pause(8_000),
        ],
      });
      const report = await call.done;
      const [record] = await finishedCalls(sut.control, 1);
      assert.ok(record);
      const rt = fake.realtime.sessions.at(-1)!;

      // The session the engine opened: the context's prompt, the provider's voice, the hangup tool, 24 kHz PCM.
      assert.equal(rt.config.audio?.output?.voice, 'marin');
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
      assert.ok(turns.includes('caller: what are your opening hours'), turns.join('\n'));
      const cut = record.turns.find((t) => t.interrupted);
      assert.ok(cut && cut.text.length > 0 && cut.text.length < 90 && 'We are open from nine'.startsWith(cut.text.slice(0, 5)), turns.join('\n'));
      assert.ok(turns.includes('agent: Goodbye!'), turns.join('\n'));
      assert.ok(record.events.some((e) => e.kind === 'barge_in'));
      assert.ok(record.events.some((e) => e.kind === 'tool_call' && e.name === 'hangup'));
      assert.ok(!sut.engine.stdout().includes(OPENAI_KEY), 'the API key leaked into the log');
    });
  });

  describe('Deepgram Voice Agent', () => {
    let fake: DeepgramFake;
    let sut: EngineUnderTest;

    before(async () => {
      fake = await startDeepgramFake({ apiKey: DEEPGRAM_KEY });
      sut = await startEngine({
        dir,
        name: 'deepgram-agent',
        localAiPort: UNUSED_PORT,
        telephony: 'transport: rtp\nrtp_format: ulaw',
        providers: `voice: { type: deepgram_agent, agent_url: "${fake.environment.agent}", sample_rate: 24000 }`,
        contexts: 'default:\n  greeting: Hello from the voice agent.\n  tools: [hangup]\n  provider: { type: agent, agent: voice }',
        env: { DEEPGRAM_API_KEY: DEEPGRAM_KEY },
      });
    });
    after(async () => {
      await sut?.stop();
      await fake?.close();
    });

    it('greets, answers the caller, runs the hangup function and hangs up after the farewell', async () => {
      // The stand-in's user turns are clocked by the audio it received: the caller speaks at ~3 s.
      fake.agent.scripts.push({ utterances: [{ atMs: 3000, text: 'goodbye then', durationMs: 800 }] });
      fake.agent.replies.push({ text: 'Goodbye!', functionCalls: [{ id: 'fc_1', name: 'hangup', arguments: {} }], audio: { ms: 700 } });
      const call = await sut.peer.placeCall({
        callerId: { number: '4155550124', name: 'E2E' },
        script: [waitForAgentSilence(600, 10_000), say('tts:goodbye then'), pause(10_000)],
      });
      const report = await call.done;
      const [record] = await finishedCalls(sut.control, 1);
      const dg = fake.agent.sessions.at(-1)!;
      assert.deepEqual(dg.settings?.audio.input, { encoding: 'linear16', sample_rate: 24000 });
      assert.equal(dg.settings?.agent.greeting, 'Hello from the voice agent.');
      assert.ok(report.firstAgentAudioMs !== null, 'the greeting was not heard');
      assert.ok(dg.received.some((m) => m.type === 'FunctionCallResponse') || report.endedBy === 'engine-hangup');
      assert.equal(report.endedBy, 'engine-hangup', JSON.stringify(report.transcript));
      assert.equal(record?.outcome, 'completed');
      const turns = record!.turns.map((t) => `${t.speaker}: ${t.text}`);
      assert.deepEqual(turns.slice(0, 2), ['agent: Hello from the voice agent.', 'caller: goodbye then'], turns.join('\n'));
      assert.ok(record!.events.some((e) => e.kind === 'tool_call' && e.name === 'hangup'));
    });
  });
});
