import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ServiceProcess } from '@ai-agent/common/testing';
import {
  AUDIO_RMS_THRESHOLD,
  pause,
  rms,
  say,
  startOpenAiFake,
  waitForAgent,
  waitForAgentSilence,
  type CallReport,
  type CallerSession,
  type ChatRequest,
  type OpenAiFake,
  type ScriptStep,
} from '@ai-agent/test-peers';
import { LocalAiClient } from '@ai-agent/local-ai-server/client';
import { finishedCalls, startEngine, startLocalAi, type EngineUnderTest } from './helpers.ts';

// A warm transfer through the real engine and local AI server, Asterisk played by the test peer: the caller
// asks for a person, hears music on hold while the front desk rings, the person who answers hears the LLM's
// summary of the call, then caller and person talk to each other with the engine gone from the call. At the same
// time a second caller asks for someone who never answers and is back with the agent, and a third is put
// through to a person who hears the template briefing because the LLM stalls on the summary.

const OPENAI_KEY = 'sk-e2e-warm-0123456789abcdef';
/** What the scripted LLM writes for the person (the engine adds its opener and closing). */
const SUMMARY = 'Alex, calling from 2 0 0 1, wants to talk to a person about a late delivery.';
const viaLlm = 'provider: { type: pipeline, stt: local, llm: oa, tts: local }';
/** The third caller's context: the scripted LLM answers it apart (see llmAnswer). */
const NOBODY_PROMPT = 'You answer the line nobody picks up.';

const CONTEXTS = `default:
  greeting: Hello, how can I help?
  ${viaLlm}
  tools: [hangup, transfer]
  transfer_targets:
    operator: { mode: warm, endpoint: PJSIP/frontdesk, ring_timeout_seconds: 15, description: a person at the front desk }
stalled:
  greeting: Hello, how can I help?
  ${viaLlm}
  tools: [hangup, transfer]
  transfer_targets:
    operator: { mode: warm, endpoint: PJSIP/backoffice, ring_timeout_seconds: 15, briefing_timeout_ms: 1500 }
nobody:
  greeting: Hello, how can I help?
  system_prompt: ${NOBODY_PROMPT}
  ${viaLlm}
  tools: [hangup, transfer]
  transfer_targets:
    operator: { mode: warm, endpoint: PJSIP/nobody, ring_timeout_seconds: 3 }`;

const FRAME = 160;
const MS = 8; // samples per ms at 8 kHz

/** Share of a block's energy at `freq` (Goertzel), 1 for a pure tone at that frequency. */
function toneShare(x: Int16Array, freq: number): number {
  const w = (2 * Math.PI * freq) / 8000;
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const v of x) {
    const s0 = v + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += v * v;
  }
  return energy === 0 ? 0 : (s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2) / ((energy * x.length) / 2);
}

/** 20 ms frames of `x` at speech level. */
function audibleFrames(x: Int16Array): number {
  let n = 0;
  for (let i = 0; i + FRAME <= x.length; i += FRAME) if (rms(x.subarray(i, i + FRAME)) >= AUDIO_RMS_THRESHOLD) n++;
  return n;
}

/**
 * Where in a caller's recording (samples) the transcript line matching `re` was noted: the recording starts as
 * the call starts, after the script's audio was prepared.
 */
function noted(report: CallReport, re: RegExp): number {
  const entry = report.transcript.find((e) => re.test(e.text));
  assert.ok(entry, `no "${re}" in ${JSON.stringify(report.transcript)}`);
  const started = report.transcript.find((e) => e.text === 'call started');
  return (entry.atMs - (started?.atMs ?? 0)) * MS;
}

/** The recorded 20 ms frames of hold music: most energy in one of the peer's hold-music notes. */
function musicFrames(x: Int16Array): number {
  let n = 0;
  for (let i = 0; i + FRAME * 5 <= x.length; i += FRAME * 5) {
    const block = x.subarray(i, i + FRAME * 5);
    // A block across a note change shares its energy between two notes.
    if (rms(block) >= AUDIO_RMS_THRESHOLD && [523.25, 659.25, 783.99].reduce((sum, f) => sum + toneShare(block, f), 0) > 0.6) n += 5;
  }
  return n;
}

/**
 * What the local recogniser hears in `audio` (8 kHz), all finals joined. One server stream takes it all and
 * `end()` resolves once that stream is closed, so every final is in, however far behind a loaded recogniser runs
 * (the first final after the end is not necessarily the last one).
 */
async function recognise(port: number, audio: Int16Array): Promise<string> {
  const client = await LocalAiClient.connect(`ws://127.0.0.1:${port}`, { signal: AbortSignal.timeout(5000) });
  try {
    const stream = await client.openStt({ encoding: 'slin16le', sampleRate: 8000 });
    const finals: string[] = [];
    stream.on('final', (text) => finals.push(text));
    // At 4× real time, as the recogniser takes audio from a live call.
    for (let i = 0; i < audio.length; i += 160) {
      const frame = audio.slice(i, i + 160);
      stream.write(new Uint8Array(frame.buffer));
      await new Promise((r) => setTimeout(r, 5));
    }
    await stream.end();
    return finals.join(' ');
  } finally {
    await client.close();
  }
}

describe('warm transfer through the real engine', { timeout: 180_000 }, () => {
  let localAi: ServiceProcess;
  let localAiPort: number;
  let openai: OpenAiFake;
  let sut: EngineUnderTest;
  let person: CallerSession | undefined;
  let personChannel: string | undefined;
  let backOffice: CallerSession | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'e2e-warm-'));

  /**
   * The scripted LLM: the caller's request gets the transfer; the briefing request the summary, or a stall for
   * caller 2003. On the line nobody picks up, whatever the recogniser made of the caller's words: the first turn
   * asks for the transfer, the tool's failure gets a short reply and the caller's next turn the hangup.
   */
  function llmAnswer(request: ChatRequest) {
    const [system, user] = request.messages.map((m) => String(m.content ?? ''));
    if (system?.includes(NOBODY_PROMPT)) {
      if (!request.messages.some((m) => m.role === 'tool')) return { text: 'Let me connect you with someone.', toolCalls: [{ name: 'transfer', arguments: { target: 'operator' } }] };
      if (request.messages.at(-1)?.role === 'tool') return { text: 'What else can I do for you?' };
      return { text: 'Goodbye.', toolCalls: [{ name: 'hangup', arguments: {} }] };
    }
    if (!system?.startsWith('You brief a colleague')) return { text: 'Let me connect you with someone.', toolCalls: [{ name: 'transfer', arguments: { target: 'operator' } }] };
    return user?.includes('2 0 0 3') ? { text: 'Never finished.', fault: { kind: 'stall' as const } } : { text: SUMMARY };
  }

  before(async () => {
    [{ proc: localAi, port: localAiPort }, openai] = await Promise.all([startLocalAi(), startOpenAiFake({ apiKey: OPENAI_KEY })]);
    openai.chat.setDefault(llmAnswer);
    sut = await startEngine({
      dir,
      name: 'warm',
      localAiPort,
      telephony: 'transport: rtp',
      contexts: CONTEXTS,
      providers: `oa: { type: openai, base_url: "${openai.baseURL}" }`,
      env: { OPENAI_API_KEY: OPENAI_KEY },
      peer: {
        endpoints: {
          'PJSIP/frontdesk': {
            answerAfterMs: 1500,
            person: {
              // Listens to the briefing, then greets the caller once the agent has gone quiet, then hangs up.
              script: [waitForAgent(20_000), waitForAgentSilence(1000, 40_000), say('tts:hello this is sam at the front desk'), pause(2000)],
              onAnswer: (session, channelId) => {
                person = session;
                personChannel = channelId;
              },
            },
          },
          'PJSIP/backoffice': {
            answerAfterMs: 1000,
            person: {
              // Listens to the briefing, then hangs up (which ends the caller's line too).
              script: [waitForAgent(20_000), waitForAgentSilence(1000, 40_000)],
              onAnswer: (session) => {
                backOffice = session;
              },
            },
          },
          // PJSIP/nobody: rings until the originate timeout (the peer's default for an endpoint with no answer).
        },
      },
    });
  });
  after(async () => {
    await sut?.stop();
    await Promise.all([localAi?.stop(), openai?.close()]);
  });

  it('briefs the person who answers (the LLM\'s summary, or the template when it stalls), bridges them with the caller and leaves; nobody answering brings the caller back', async () => {
    const askForPerson: ScriptStep[] = [
      waitForAgentSilence(700, 20_000),
      say('tts:can I talk to a person please'),
      waitForAgent(30_000), // the announcement (a reply can take long on two busy cores)
      waitForAgentSilence(1000, 20_000), // then music on hold
    ];
    const reached = await sut.peer.placeCall({
      callerId: { number: '2001', name: 'Alex' },
      // Keeps saying thanks: unheard on hold, heard by the person once they are bridged.
      script: [...askForPerson, ...Array.from({ length: 8 }, () => [say('tts:thank you'), pause(2000)]).flat()],
      hangupAtEnd: false,
    });
    const stalled = await sut.peer.placeCall({
      callerId: { number: '2003' },
      variables: { AI_CONTEXT: 'stalled' },
      script: [...askForPerson, pause(30_000)],
      hangupAtEnd: false,
    });
    const unreached = await sut.peer.placeCall({
      callerId: { number: '2002' },
      variables: { AI_CONTEXT: 'nobody' },
      script: [...askForPerson, waitForAgent(30_000), waitForAgentSilence(1000, 20_000), say('tts:goodbye'), pause(15_000)],
    });

    // --- the caller the front desk answered ---
    const report = await reached.done;
    assert.ok(person, 'the front desk was never answered');
    const personReport = await person.done;
    if (process.env.E2E_WAV_DIR) {
      report.writeWav(join(process.env.E2E_WAV_DIR, 'warm-caller.wav'));
      personReport.writeWav(join(process.env.E2E_WAV_DIR, 'warm-person.wav'));
    }
    const records = await finishedCalls(sut.control, 3, 30_000);
    const contextOf = (r: object): unknown => (r as { context?: unknown }).context;
    const record = records.find((r) => contextOf(r) === 'default');
    assert.ok(record, JSON.stringify(records.map(contextOf)));
    assert.equal(record.outcome, 'transferred', JSON.stringify(record.turns));
    const tool = record.events.find((e) => e.kind === 'tool_call');
    assert.ok(tool?.kind === 'tool_call' && /connected to operator \(briefed by the LLM\)/.test(tool.result), JSON.stringify(record.events));

    // The caller heard music on hold while the front desk rang (1.5 s) and while the person was briefed.
    const mohOn = noted(report, /music on hold started \(class default\)/);
    const mohOff = noted(report, /music on hold stopped/);
    const held = report.recording.subarray(mohOn + 100 * MS, mohOff);
    assert.ok(held.length > 3000 * MS, `on hold for only ${held.length / MS} ms`);
    // Sound all along; the notes' fades make a block across a note change weaker in the notes' share.
    assert.ok(audibleFrames(held) > (held.length / FRAME) * 0.95, `sound in ${audibleFrames(held)} of ${held.length / FRAME} frames on hold`);
    assert.ok(musicFrames(held) > (held.length / FRAME) * 0.7, `hold music in ${musicFrames(held)} of ${held.length / FRAME} frames`);

    // The person heard the agent's briefing: the opener at once, then the LLM's summary of the call.
    const agentTurns = record.turns.filter((t) => t.speaker === 'agent').map((t) => t.text);
    const opener = agentTurns.indexOf('You have a transferred call.');
    assert.ok(opener > 0, `no briefing: ${JSON.stringify(agentTurns)}`);
    assert.equal(agentTurns[opener + 1], `${SUMMARY} I am connecting you now.`);
    // The LLM read the conversation and who is calling.
    const briefingRequest = openai.requests.find((r) => r.path === '/v1/chat/completions' && JSON.stringify(r.body).includes('You brief a colleague') && JSON.stringify(r.body).includes('2 0 0 1'));
    assert.match(JSON.stringify(briefingRequest?.body), /Alex, calling from 2 0 0 1.*Caller: [^"]*person/i);
    const spurts = personReport.agentSpurts;
    assert.ok(spurts.length > 0, 'the person heard no agent audio');
    const briefStart = spurts[0]!.startMs * MS;
    const briefEnd = spurts[spurts.length - 1]!.endMs * MS;
    assert.ok(briefEnd - briefStart > 3000 * MS, `briefing lasted ${(briefEnd - briefStart) / MS} ms`);
    // Then caller and person were bridged: each heard the other (the agent had stopped).
    const personHeardCaller = personReport.recording.subarray(briefEnd + 500 * MS);
    assert.ok(audibleFrames(personHeardCaller) > 20, `the person heard the caller in ${audibleFrames(personHeardCaller)} frames`);
    const callerHeardPerson = report.recording.subarray(mohOff);
    assert.ok(audibleFrames(callerHeardPerson) > 40, `the caller heard the person in ${audibleFrames(callerHeardPerson)} frames`);
    // And in words, as the local recogniser hears them.
    const [heardBriefing, heardPerson] = await Promise.all([
      recognise(localAiPort, personReport.recording.subarray(briefStart, briefEnd + 300 * MS)),
      recognise(localAiPort, callerHeardPerson),
    ]);
    assert.match(heardBriefing, /transfer|call|connect/i, `the recogniser heard in the briefing: "${heardBriefing}"`);
    assert.match(heardPerson, /front|desk|sam|hello/i, `the recogniser heard from the person: "${heardPerson}"`);

    // The engine left: the person's hangup ended the caller's line too, and nothing is left in Asterisk.
    assert.equal(personReport.endedBy, 'caller-hangup');
    assert.equal(report.endedBy, 'engine-hangup');
    assert.ok(personChannel && !sut.peer.core.channels.has(personChannel));

    // --- the caller whose briefing the LLM did not write in time: the person heard the template ---
    await stalled.done;
    assert.ok(backOffice, 'the back office was never answered');
    await backOffice.done;
    const stalledRecord = records.find((r) => contextOf(r) === 'stalled');
    assert.ok(stalledRecord);
    assert.equal(stalledRecord.outcome, 'transferred', JSON.stringify(stalledRecord.turns));
    const stalledTool = stalledRecord.events.find((e) => e.kind === 'tool_call');
    assert.ok(stalledTool?.kind === 'tool_call' && /briefed by the template \(no answer within 1500 ms\)/.test(stalledTool.result), JSON.stringify(stalledRecord.events));
    const stalledAgent = stalledRecord.turns.filter((t) => t.speaker === 'agent').map((t) => t.text);
    const templateAt = stalledAgent.indexOf('You have a transferred call.');
    assert.match(stalledAgent[templateAt + 1] ?? '', /^The caller, calling from 2 0 0 3, said: .*person.* I am connecting you now\.$/i, JSON.stringify(stalledAgent));
    const heard = (await backOffice.done).agentSpurts;
    const heardMs = heard.length ? heard[heard.length - 1]!.endMs - heard[0]!.startMs : 0;
    assert.ok(heardMs > 4000, `the back office heard ${heardMs} ms of the opener and the template`);
    await sut.engine.waitFor(/transfer briefing: the LLM summary failed; the template is said/, 1000);

    // --- the caller nobody answered ---
    const lonely = await unreached.done;
    const lonelyRecord = records.find((r) => contextOf(r) === 'nobody');
    assert.ok(lonelyRecord);
    const lonelyTool = lonelyRecord.events.find((e) => e.kind === 'tool_call');
    assert.ok(lonelyTool?.kind === 'tool_call' && /could not be reached: no answer \(cause 19\)/.test(lonelyTool.result), JSON.stringify(lonelyRecord.events));
    const lonelyOn = noted(lonely, /music on hold started/);
    const lonelyOff = noted(lonely, /music on hold stopped/);
    assert.ok(lonelyOff - lonelyOn >= 2800 * MS, `rang ${(lonelyOff - lonelyOn) / MS} ms for a 3 s ring timeout`);
    const agentText = lonelyRecord.turns.filter((t) => t.speaker === 'agent').map((t) => t.text).join(' | ');
    assert.match(agentText, /couldn't reach anyone/, agentText);
    assert.ok(lonely.agentSpurts.some((s) => s.startMs * MS > lonelyOff), 'the agent did not speak to the caller again');
    // The conversation went on: the caller's goodbye was answered and the agent hung up.
    assert.equal(lonelyRecord.outcome, 'completed', JSON.stringify(lonelyRecord.turns));
    assert.equal(sut.peer.core.channels.size, 0, `left in Asterisk: ${[...sut.peer.core.channels.values()].map((c) => c.name)}`);
    assert.equal(sut.peer.core.bridges.size, 0, 'a bridge was left behind');
  });
});
