// Cloud stacks as the caller hears them, with the vendors answering after fixed delays, so what is left of the
// wait is the engine's. The real engine process runs with a Deepgram STT + OpenAI LLM + Deepgram TTS context
// and two speech-to-speech contexts (OpenAI Realtime, the Deepgram Voice Agent); their stand-ins (test-peers' fakes, the real SDKs in the engine) run here; the
// Asterisk test peer places RTP µ-law calls whose caller says an Allison prompt each turn and times the audio
// on the wire.
// Per turn (end of caller speech → first agent audio at the caller):
// - pipeline: the fakes stamp when the model was asked, so the turn splits into turn detection (end of speech
//   → model asked: the VAD's silence, the STT final) and after it. Engine-added time is the rest once the
//   fakes' delays are taken out: first audio at the caller − model asked − LLM delay − TTS delay (the LLM
//   stream, the sentence cut, the TTS request, resampling, the pacer and the media path out);
// - the agents: the vendor decides the turn (its VAD's silence), so engine-added time is heard − that silence −
//   the response delay (the media path both ways, and the fake's VAD framing; on the µ-law line the agents
//   get and give G.711 as it is, no resampling). The stand-ins log when they ended each turn and sent their
//   first audio, which splits it into caller → vendor and vendor → caller (the rest is the stand-in's own).
// Also answer → greeting audio (pipeline greetings come from the cache the engine fills at start; an agent's is
// the vendor's first response, on a session opened while the call was set up), and the first turn of each
// call against the later ones (warm start).
// `npm run bench -- cloud`; CLOUD_BENCH_CALLS (4) calls of CLOUD_BENCH_TURNS (4) turns per stack, after one call
// reported apart (the first after the engine started also pays one-time costs: code loaded and compiled).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hangup, say, startDeepgramFake, startOpenAiFake, waitForAgent, waitForAgentSilence, type CallReport, type ScriptStep,
} from '@ai-agent/test-peers';
import { startEngine } from '../../engine/test/e2e/helpers.ts';
import type { Figures } from './main.ts';
import { percentile } from './stats.ts';

const CALLS = Number(process.env.CLOUD_BENCH_CALLS ?? 4);
const TURNS = Number(process.env.CLOUD_BENCH_TURNS ?? 4);
/** The fakes' fixed delays: first token of the model, first audio of the speech, the Realtime response. */
const LLM_DELAY_MS = 200;
const TTS_DELAY_MS = 100;
const REALTIME_DELAY_MS = 200;
const VOICE_AGENT_DELAY_MS = 200;
/** The Realtime server VAD's end-of-turn silence (the engine's config sends it in session.update). */
const REALTIME_SILENCE_MS = 200;
/** The Voice Agent stand-in's end-of-turn silence (Deepgram sets its own; the stand-in is told this one). */
const VOICE_AGENT_SILENCE_MS = 200;
const KEY = { openai: 'sk-bench-cloud-0123456789abcdef', deepgram: 'dg-bench-cloud-0123456789abcdef' };
const PROMPT = 'sound:hello-world';
const SAID = 'hello world';
/** No local AI server runs: no context uses the `local` provider startEngine configures. */
const UNUSED_PORT = 9;
/** CLOUD_BENCH_VERBOSE=1 prints every measured turn. */
const VERBOSE = process.env.CLOUD_BENCH_VERBOSE === '1';

interface Turn {
  heardMs: number;
  engineMs: number;
  detectMs?: number;
  /** Where engine-added time went, from the stand-ins' own logs (the fakes' delays taken out). */
  stages?: Record<string, number>;
  first: boolean;
}

/** When a stand-in ended each caller turn and when it sent audio (wall clock, sorted). */
interface VendorLog {
  turnEnds: number[];
  audio: number[];
}

const CALLER_TO_VENDOR = 'caller → vendor (end of speech → its turn end, less its VAD silence)';
const VENDOR_TO_CALLER = 'vendor → caller (its first audio → heard)';
const MODEL_TO_SPEECH = 'model → speech (model asked → speech asked, less the model delay)';
const SPEECH_TO_CALLER = 'speech → caller (speech asked → heard, less its delay)';

/** An agent turn split by its stand-in's log: what is left once the VAD silence and the reply delay are out. */
function agentSplit(log: () => VendorLog, silenceMs: number, delayMs: number) {
  return (speechEndAt: number, heardAt: number): Omit<Turn, 'heardMs' | 'first'> => {
    const { turnEnds, audio } = log();
    const end = turnEnds.find((t) => t > speechEndAt && t <= heardAt);
    const sent = end === undefined ? undefined : audio.find((t) => t >= end && t <= heardAt);
    const engineMs = heardAt - speechEndAt - silenceMs - delayMs;
    if (end === undefined || sent === undefined) return { engineMs };
    return { engineMs, stages: { [CALLER_TO_VENDOR]: end - speechEndAt - silenceMs, [VENDOR_TO_CALLER]: heardAt - sent } };
  };
}

export async function runCloudBench(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-cloud-'));
  const [openai, realtime, deepgram] = await Promise.all([
    startOpenAiFake({ apiKey: KEY.openai }),
    startOpenAiFake({ apiKey: KEY.openai, tls: true }),
    startDeepgramFake({ apiKey: KEY.deepgram }),
  ]);
  openai.chat.setDefault({ text: 'Sure, I can help with that.', pace: { firstByteMs: LLM_DELAY_MS } });
  deepgram.speak.setDefault({ pace: { firstByteMs: TTS_DELAY_MS } });
  realtime.realtime.responses.setDefault({ text: 'Sure, I can help with that.', audio: { ms: 1200 }, pace: { firstByteMs: REALTIME_DELAY_MS } });
  realtime.realtime.transcripts.setDefault(SAID);
  deepgram.agent.scripts.setDefault({ listen: { heard: [SAID], silenceMs: VOICE_AGENT_SILENCE_MS } });
  deepgram.agent.replies.setDefault({ text: 'Sure, I can help with that.', audio: { ms: 1200 }, pace: { firstByteMs: VOICE_AGENT_DELAY_MS } });
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, realtime.ca!);
  const sut = await startEngine({
    dir,
    name: 'bench-cloud',
    localAiPort: UNUSED_PORT,
    telephony: 'transport: rtp\nrtp_format: ulaw',
    providers: [
      `oa: { type: openai, base_url: "${openai.baseURL}" }`,
      `dg: { type: deepgram, base_url: "${deepgram.environment.base}" }`,
      `rt: { type: openai_realtime, base_url: "${realtime.baseURL}", silence_duration_ms: ${REALTIME_SILENCE_MS} }`,
      `va: { type: deepgram_agent, agent_url: "${deepgram.environment.agent}" }`,
    ].join('\n'),
    contexts: [
      'default:\n  greeting: Welcome to the cloud line.\n  provider: { type: pipeline, stt: dg, llm: oa, tts: dg }',
      'realtime:\n  greeting: Welcome to the agent line.\n  provider: { type: agent, agent: rt }',
      'voice_agent:\n  greeting: Welcome to the voice agent line.\n  provider: { type: agent, agent: va }',
    ].join('\n'),
    env: { OPENAI_API_KEY: KEY.openai, DEEPGRAM_API_KEY: KEY.deepgram, NODE_EXTRA_CA_CERTS: ca },
  });
  const load = loadavg()[0]!;
  try {
    const script: ScriptStep[] = [waitForAgentSilence(600, 15_000)];
    for (let i = 0; i < TURNS; i++) script.push(say(PROMPT), waitForAgent(10_000), waitForAgentSilence(600, 15_000));
    script.push(hangup());

    /** One call first, reported apart: the first call after the engine started also pays its one-time costs. */
    const run = async (context: string, before?: () => void): Promise<{ first: CallReport; reports: CallReport[] }> => {
      const reports: CallReport[] = [];
      for (let c = 0; c <= CALLS; c++) {
        before?.();
        const call = await sut.peer.placeCall({ callerId: { number: '4155550100', name: 'Bench' }, variables: { AI_CONTEXT: context }, script });
        reports.push(await call.done);
      }
      return { first: reports[0]!, reports: reports.slice(1) };
    };

    const pipelineCalls = await run('default', () => deepgram.listen.scripts.push({ heard: Array.from({ length: TURNS }, () => SAID) }));
    const asked = openai.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => r.receivedAt);
    const spoken = deepgram.requests.filter((r) => r.path === '/v1/speak').map((r) => r.receivedAt);
    const pipeline = turnsOf(pipelineCalls.reports, (speechEndAt, heardAt) => {
      const at = asked.find((t) => t >= speechEndAt);
      if (at === undefined || at > heardAt) return undefined;
      const tts = spoken.find((t) => t >= at && t <= heardAt);
      const stages = tts === undefined ? undefined : { [MODEL_TO_SPEECH]: tts - at - LLM_DELAY_MS, [SPEECH_TO_CALLER]: heardAt - tts - TTS_DELAY_MS };
      return { detectMs: at - speechEndAt, engineMs: heardAt - at - LLM_DELAY_MS - TTS_DELAY_MS, ...(stages ? { stages } : {}) };
    });
    const realtimeCalls = await run('realtime');
    const realtimeLog = (): VendorLog => {
      const log: VendorLog = { turnEnds: [], audio: [] };
      for (const s of realtime.realtime.sessions) {
        s.sent.forEach((e, i) => {
          if (e.type === 'input_audio_buffer.speech_stopped') log.turnEnds.push(s.sentAt[i]!);
          else if (e.type === 'response.output_audio.delta') log.audio.push(s.sentAt[i]!);
        });
      }
      return { turnEnds: log.turnEnds.sort((a, b) => a - b), audio: log.audio.sort((a, b) => a - b) };
    };
    const agent = turnsOf(realtimeCalls.reports, agentSplit(realtimeLog, REALTIME_SILENCE_MS, REALTIME_DELAY_MS));
    const voiceAgentCalls = await run('voice_agent');
    const voiceAgentLog = (): VendorLog => {
      const log: VendorLog = { turnEnds: [], audio: [] };
      for (const s of deepgram.agent.sessions) {
        s.sent.forEach((m, i) => {
          if (m.type === 'ConversationText' && m.role === 'user') log.turnEnds.push(s.sentAt[i]!);
        });
        log.audio.push(...s.agentAudioAt);
      }
      return { turnEnds: log.turnEnds.sort((a, b) => a - b), audio: log.audio.sort((a, b) => a - b) };
    };
    const voiceAgent = turnsOf(voiceAgentCalls.reports, agentSplit(voiceAgentLog, VOICE_AGENT_SILENCE_MS, VOICE_AGENT_DELAY_MS));

    const figures: Figures = {};
    report(figures, 'pipeline (Deepgram STT, OpenAI LLM, Deepgram TTS)', pipeline, pipelineCalls, 'pipeline');
    report(figures, 'OpenAI Realtime', agent, realtimeCalls, 'realtime');
    report(figures, 'Deepgram Voice Agent', voiceAgent, voiceAgentCalls, 'voice agent');
    figures['cloud: load average while measured (2 cores: above 2 the figures are noisy)'] = { value: Math.round(load * 10) / 10, unit: '' };
    return figures;
  } finally {
    await sut.stop();
    await Promise.all([openai.close(), realtime.close(), deepgram.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each answered turn of each call, split by `split` (given wall-clock end of speech and first audio heard). */
function turnsOf(reports: CallReport[], split: (speechEndAt: number, heardAt: number) => Omit<Turn, 'heardMs' | 'first'> | undefined): Turn[] {
  const turns: Turn[] = [];
  for (const r of reports) {
    const start = Date.parse(r.startedAt);
    r.turns.forEach((t, i) => {
      if (t.responseLatencyMs === null) return;
      const parts = split(start + t.speechEndMs, start + t.speechEndMs + t.responseLatencyMs);
      if (!parts) return;
      turns.push({ heardMs: t.responseLatencyMs, first: i === 0, ...parts });
      if (!VERBOSE) return;
      const detect = parts.detectMs !== undefined ? `detection ${parts.detectMs} ms, ` : '';
      const path = parts.stages ? ` (${Object.entries(parts.stages).map(([stage, ms]) => `${stage.split(' (')[0]}: ${ms} ms`).join(', ')})` : '';
      console.log(`  turn ${i + 1}: heard ${t.responseLatencyMs} ms, ${detect}engine-added ${parts.engineMs} ms${path}`);
    });
  }
  return turns;
}

function report(figures: Figures, label: string, turns: Turn[], calls: { first: CallReport; reports: CallReport[] }, key: string): void {
  const { reports } = calls;
  const p = (values: number[], q: number): number => Math.round(percentile(values, q));
  const heard = turns.map((t) => t.heardMs);
  const engine = turns.map((t) => t.engineMs);
  figures[`cloud ${key}: turns measured (${label})`] = { value: turns.length, unit: `of ${CALLS * TURNS}` };
  figures[`cloud ${key}: end of caller speech → first agent audio at the caller, p50`] = { value: p(heard, 50), unit: 'ms' };
  figures[`cloud ${key}: end of caller speech → first agent audio at the caller, p95`] = { value: p(heard, 95), unit: 'ms' };
  const detect = turns.flatMap((t) => (t.detectMs === undefined ? [] : [t.detectMs]));
  if (detect.length > 0) {
    figures[`cloud ${key}: turn detection (end of speech → model asked), p50`] = { value: p(detect, 50), unit: 'ms' };
    figures[`cloud ${key}: turn detection (end of speech → model asked), p95`] = { value: p(detect, 95), unit: 'ms' };
  }
  figures[`cloud ${key}: engine-added time (the fakes' delays taken out), p50`] = { value: p(engine, 50), unit: 'ms' };
  figures[`cloud ${key}: engine-added time (the fakes' delays taken out), p95`] = { value: p(engine, 95), unit: 'ms (target ≤ 30)' };
  for (const stage of new Set(turns.flatMap((t) => Object.keys(t.stages ?? {})))) {
    const values = turns.flatMap((t) => (t.stages?.[stage] === undefined ? [] : [t.stages[stage]]));
    figures[`cloud ${key}: of it, ${stage}, p50 / p95`] = { value: p(values, 50), unit: `/ ${p(values, 95)} ms` };
  }
  const first = turns.filter((t) => t.first).map((t) => t.heardMs);
  const later = turns.filter((t) => !t.first).map((t) => t.heardMs);
  figures[`cloud ${key}: first turn of a call, heard p50 (warm start)`] = { value: p(first, 50), unit: 'ms' };
  figures[`cloud ${key}: later turns, heard p50`] = { value: p(later, 50), unit: 'ms' };
  const greetings = reports.flatMap((r) => (r.firstAgentAudioMs === null ? [] : [r.firstAgentAudioMs]));
  figures[`cloud ${key}: answer → greeting audio at the caller, p50`] = { value: p(greetings, 50), unit: 'ms' };
  figures[`cloud ${key}: answer → greeting audio at the caller, p95`] = { value: p(greetings, 95), unit: 'ms' };
  const cold = calls.first;
  figures[`cloud ${key}: first call after the engine started (not counted above): greeting, first turn heard`] = {
    value: cold.firstAgentAudioMs ?? NaN,
    unit: `ms, ${cold.turns[0]?.responseLatencyMs ?? 'none'} ms`,
  };
}
