// What the caller hears on real calls. The engine and the local AI server run as real processes with the
// offline defaults (config/ai-agent.yaml's default context, config/local-ai.yaml's dialogue); the Asterisk
// test peer places the calls, one engine per media transport (RTP µ-law, AudioSocket slin, WebSocket µ-law).
// The peer's scripted caller times everything from the audio on the wire (test-peers/src/caller):
// - end of caller speech → first reply audio. Speech is the caller's frames at the audible level (RMS ≥ 200,
//   about −44 dBFS: AUDIO_RMS_THRESHOLD), so the silence an Allison prompt carries after its words is not
//   speech; reply audio is the first agent frame at that same level to reach the caller;
// - speech onset → agent audio stops, for a caller talking over the agent (barge-in);
// - next to each, the engine's own figures from its call record (`GET /calls/:id`): the turn's `latency`
//   stages and the barge-in's `reactionMs`, and what the engine's total leaves out of the caller's wait;
// - multi-part answers (test-peers' corpus: words with 250–600 ms pauses between them), each said where the
//   dialogue asks for it: how many the engine split into several turns or answered before the caller had
//   finished, and how often a digit answer filled the account-number slot in one turn.
// Latency and barge-ins come from one call at a time. The multi-part calls run three at once (one per engine):
// where an engine ends a turn depends on the audio it gets, not on the time it takes to process it.
// `npm run bench -- caller` runs this suite alone.
// Size: one suite, read top to bottom (calls → per-turn samples → figures); its helpers only serve it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseYaml } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';
import {
  MULTI_PART_ANSWERS,
  bargeIn,
  dtmf,
  multiPartAudio,
  pause,
  say,
  waitForAgent,
  waitForAgentSilence,
  type CallReport,
  type CallerVoice,
  type MultiPartAnswer,
  type ScriptStep,
  type TurnTiming,
} from '@ai-agent/test-peers';
import type { TurnLatency } from '../../engine/src/call/index.ts';
import type { CallRecord } from '../../engine/src/store/types.ts';
import { getJson, startEngine, startLocalAi, type EngineUnderTest } from '../../engine/test/e2e/helpers.ts';
import type { Figures } from './main.ts';
import { percentile } from './stats.ts';

const TRANSPORTS = [
  { name: 'rtp', telephony: 'transport: rtp\nrtp_format: ulaw' },
  { name: 'audiosocket', telephony: 'transport: audiosocket\naudiosocket_format: slin' },
  { name: 'websocket', telephony: 'transport: websocket\nwebsocket_format: ulaw' },
] as const;

/** Turns (and barge-ins) wanted per transport. */
const TURNS = Number(process.env.CALLER_BENCH_TURNS ?? 20);
const UTTERANCES_PER_CALL = 11;
/** CALLER_BENCH_VERBOSE=1 prints every measured turn with the engine's stages. */
const VERBOSE = process.env.CALLER_BENCH_VERBOSE === '1';
/** CALLER_BENCH_ONLY=latency or =multipart runs that half alone (both by default). */
const ONLY = process.env.CALLER_BENCH_ONLY ?? '';
const MAX_CALLS = 4;
/**
 * Allison prompts the dialogue answers (help, options, hours), each said over the agent's reply to the one
 * before: every utterance is a barge-in and a turn of its own, so a turn costs seconds, not a whole reply.
 */
const PROMPTS = ['sound:dictate/forhelp', 'sound:vm-advopts', 'sound:hours'];
/** How far into the agent's reply the caller starts talking. */
const BARGE_IN_AFTER_MS = [400, 700, 500, 600, 300];

/**
 * Multi-part-answer calls: one answer each, in voices the engine tests do not use, said once the whole prompt
 * that asks for it has played. Requests follow the greeting (and cost least, so they get a third voice).
 * Before a digit answer, a plain request without pauses in the peer's clearest voice, said over the
 * greeting, makes the dialogue ask for the account number; before a confirmation, keys then give it.
 */
const VOICES: readonly CallerVoice[] = ['flite/awb', 'espeak-ng/en-us+m3'];
const REQUEST_VOICES: readonly CallerVoice[] = [...VOICES, 'flite/kal16'];
const RESET = bargeIn(500, 'tts:I forgot my password', 15_000);
const SETUP: Record<MultiPartAnswer['slot'], ScriptStep[]> = {
  request: [],
  digits: [RESET],
  yesno: [RESET, waitForAgent(15_000), pause(500), dtmf('1234#')],
};
/**
 * The engines take multi-part calls side by side, one call each, their first calls this far apart: with more
 * at once, or all starting together, a caller can start talking before the local AI server has a recogniser
 * ready, which loses its first words.
 */
const LANE_STAGGER_MS = 2000;
/** What the agent says when the dialogue expects each kind of answer. */
const EXPECTED_PROMPT: Record<MultiPartAnswer['slot'], RegExp> = {
  request: /how can i help|anything else/i,
  digits: /account number/i,
  yesno: /shall i send/i,
};
/**
 * How long the caller listens once the reply to its answer has started: long enough to hear a digit answer
 * read back ("I heard 1 2 3 4.") and for the engine to take any turn still to come from the answer.
 */
const LISTEN_MS = 2500;

/** One caller turn with the engine's reply to it. */
interface MeasuredTurn {
  heardMs: number;
  engine: TurnLatency & { totalMs: number };
  leadInMs: number | null;
}

interface TransportSamples {
  turns: MeasuredTurn[];
  stops: number[];
  reactions: number[];
}

/** An utterance on the wall clock (the engine stamps its records with it). */
interface Said<T extends TurnTiming> {
  timing: T;
  onset: number;
  end: number;
  /** The next utterance's onset: this one's turns and replies fall before it. */
  until: number;
}

interface MultiPartPlan {
  voice: CallerVoice;
  answer: MultiPartAnswer;
  script: ScriptStep[];
}

interface MultiPartTally {
  answers: number;
  offScript: number;
  splits: number;
  digitAnswers: number;
  digitFilled: number;
  digitRight: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const at = (iso: string): number => Date.parse(iso);
const within = (iso: string, s: Said<TurnTiming>): boolean => at(iso) >= s.onset && at(iso) < s.until;
/** The peer's own warnings would interleave with the figures. */
const quietPeerLog = createLogger({ service: 'asterisk-test-peer', level: 'error' });

/** The shipped engine config's default context, as the fragment startEngine places under `contexts:`. */
function defaultContext(): string {
  const config = parseYaml(readFileSync(join(REPO_ROOT, 'config/ai-agent.yaml'), 'utf8')) as { contexts: { default: unknown } };
  // JSON is YAML: one flow mapping survives whatever indentation startEngine adds.
  return `default: ${JSON.stringify(config.contexts.default)}`;
}

/** The engine's record of a call once it is finished (records are complete when teardown ends). */
async function recordOf(control: string, channelId: string): Promise<CallRecord> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { recent } = await getJson<{ recent: Array<{ id: string; channelId?: string; outcome?: string }> }>(`${control}/calls?limit=20`);
    const done = recent.find((c) => c.channelId === channelId && c.outcome);
    if (done) return (await getJson<{ record: CallRecord }>(`${control}/calls/${done.id}`)).record;
    if (Date.now() > deadline) throw new Error(`the engine kept no finished record of call ${channelId}`);
    await sleep(200);
  }
}

async function place(sut: EngineUnderTest, script: ScriptStep[]): Promise<{ report: CallReport; record: CallRecord }> {
  const call = await sut.peer.placeCall({ callerId: { number: '4155550123', name: 'Bench' }, script });
  const report = await call.done;
  if (!call.channelId) throw new Error(`the call did not reach the engine: ${report.error ?? report.endedBy}`);
  return { report, record: await recordOf(sut.control, call.channelId) };
}

/** The caller's utterances in order, on the wall clock. */
function utterances<T extends TurnTiming>(report: CallReport, timings: T[]): Array<Said<T>> {
  const t0 = Date.parse(report.startedAt);
  const said = timings.map((timing) => ({ timing, onset: t0 + timing.onsetMs, end: t0 + timing.speechEndMs, until: Infinity }));
  said.sort((a, b) => a.onset - b.onset);
  said.forEach((s, i) => (s.until = said[i + 1]?.onset ?? Infinity));
  return said;
}

/** The caller heard the agent at this moment (ms since call start). */
function agentTalking(report: CallReport, ms: number): boolean {
  return report.agentSpurts.some((s) => s.startMs <= ms && s.endMs > ms);
}

function chainScript(call: number): ScriptStep[] {
  const steps: ScriptStep[] = [];
  for (let i = 0; i < UTTERANCES_PER_CALL; i++) {
    const n = call * UTTERANCES_PER_CALL + i;
    steps.push(bargeIn(BARGE_IN_AFTER_MS[n % BARGE_IN_AFTER_MS.length], PROMPTS[n % PROMPTS.length], 8000));
  }
  steps.push(waitForAgent(8000), pause(300));
  return steps;
}

/** Barge-in chains on one engine until TURNS turns and barge-ins are measured. */
async function measureTransport(name: string, sut: EngineUnderTest): Promise<TransportSamples> {
  const samples: TransportSamples = { turns: [], stops: [], reactions: [] };
  for (let call = 0; call < MAX_CALLS && (samples.turns.length < TURNS || samples.stops.length < TURNS); call++) {
    const { report, record } = await place(sut, chainScript(call));
    const before = { turns: samples.turns.length, stops: samples.stops.length };
    for (const s of utterances(report, report.bargeIns)) {
      const b = s.timing;
      // A barge-in when the agent was talking as the caller started.
      if (b.agentStopMs !== null && agentTalking(report, b.onsetMs)) {
        samples.stops.push(b.agentStopMs);
        const event = record.events.find((e) => e.kind === 'barge_in' && within(e.at, s));
        if (event?.kind === 'barge_in' && event.reactionMs !== undefined) samples.reactions.push(event.reactionMs);
      }
      // A turn when the agent had stopped for the caller, took one turn and replied to it. The first audio
      // after the caller's speech is that reply only if it came after the engine took the turn: audio that
      // comes sooner is the interrupted reply resuming.
      if (b.responseLatencyMs === null || agentTalking(report, b.speechEndMs)) continue;
      const callerTurns = record.turns.filter((t) => t.speaker === 'caller' && within(t.startedAt, s));
      const reply = record.turns.find((t) => t.speaker === 'agent' && t.latency?.totalMs !== undefined && within(t.startedAt, s));
      if (callerTurns.length !== 1 || !reply || s.end + b.responseLatencyMs < at(callerTurns[0].startedAt)) continue;
      samples.turns.push({ heardMs: b.responseLatencyMs, engine: reply.latency as MeasuredTurn['engine'], leadInMs: b.replyLeadInMs });
      if (VERBOSE) console.log(`    turn ${b.responseLatencyMs} ms heard: "${callerTurns[0].text}" → "${reply.text.slice(0, 40)}" engine ${JSON.stringify(reply.latency)}`);
    }
    console.log(
      `  ${name} call ${call + 1}: ${report.bargeIns.length} utterances, ${samples.turns.length - before.turns} turns and ` +
        `${samples.stops.length - before.stops} barge-ins measured; engine outcome ${record.outcome}`,
    );
  }
  return samples;
}

/** Each call's script, with its audio synthesised before any call starts; longest first. */
async function multiPartPlans(): Promise<MultiPartPlan[]> {
  const plans: MultiPartPlan[] = [];
  for (const answer of MULTI_PART_ANSWERS) {
    for (const voice of answer.slot === 'request' ? REQUEST_VOICES : VOICES) {
      const script = [
        ...SETUP[answer.slot],
        waitForAgentSilence(800, 20_000),
        say(await multiPartAudio(answer, voice)),
        waitForAgent(15_000),
        pause(LISTEN_MS),
      ];
      plans.push({ voice, answer, script });
    }
  }
  return plans.sort((a, b) => b.script.length - a.script.length);
}

/** Tallies one call's answer; returns how it went, for the log. */
async function multiPartCall(sut: EngineUnderTest, { answer, script }: MultiPartPlan, tally: MultiPartTally): Promise<string> {
  const { report, record } = await place(sut, script);
  // The setup is said over the agent: the answer is the caller's one plain turn.
  const [s] = utterances(report, report.turns);
  const agent = record.turns.filter((t) => t.speaker === 'agent');
  const errors = record.events.flatMap((e) => (e.kind === 'provider_error' ? [` (engine ${e.stage} error: ${e.message})`] : []));
  if (!s) return `${answer.id} never said: ${report.endedBy} after "${agent.at(-1)?.text ?? ''}"${errors.join('')}`;
  // Where the dialogue asked for it: after the whole of the prompt asking for it.
  const prompt = agent.filter((t) => at(t.startedAt) < s.onset).at(-1);
  if (!prompt || prompt.interrupted || !prompt.endedAt || at(prompt.endedAt) > s.onset || !EXPECTED_PROMPT[answer.slot].test(prompt.text)) {
    tally.offScript++;
    return `${answer.id} said elsewhere (after "${prompt?.text.slice(0, 40) ?? ''}")${errors.join('')}`;
  }
  tally.answers++;
  const callerTurns = record.turns.filter((t) => t.speaker === 'caller' && within(t.startedAt, s));
  // Answered before the caller finished: agent audio during the answer, or the rest of the answer taken for
  // talk over the agent (a reply started before the end reaches the caller only after it, or not at all).
  const early =
    report.agentSpurts.some((sp) => sp.endMs > s.timing.onsetMs && sp.startMs <= s.timing.speechEndMs) ||
    record.events.some((e) => (e.kind === 'barge_in' || e.kind === 'false_barge_in') && within(e.at, s));
  if (callerTurns.length > 1 || early) tally.splits++;
  const how = `${answer.id}: ${callerTurns.map((t) => `"${t.text}"`).join(' + ') || 'no turn'}${early ? ' (answered early)' : ''}${errors.join('')}`;
  if (answer.slot !== 'digits') return how;
  tally.digitAnswers++;
  const next = agent.find((t) => at(t.startedAt) >= s.onset);
  const heard = next && /i heard/i.test(next.text) ? next.text.replace(/\D/g, '') : null;
  if (callerTurns.length === 1 && heard !== null) tally.digitFilled++;
  if (heard === answer.digits) tally.digitRight++;
  return `${how} → ${heard === null ? 'not filled' : `filled ${heard}`}`;
}

function ms(figures: Figures, name: string, value: number): void {
  figures[`caller ${name}`] = { value: Math.round(value), unit: 'ms' };
}

function transportFigures(label: string, s: TransportSamples, figures: Figures): void {
  const heard = s.turns.map((t) => t.heardMs);
  figures[`caller ${label} turns measured`] = { value: s.turns.length, unit: 'turns' };
  if (s.turns.length > 0) {
    ms(figures, `${label} end of caller speech to first reply audio p50`, percentile(heard, 50));
    ms(figures, `${label} end of caller speech to first reply audio p95`, percentile(heard, 95));
    ms(figures, `${label} end of caller speech to first reply audio max`, Math.max(...heard));
    const stages: Array<[keyof TurnLatency, string]> = [
      ['endpointingMs', 'endpointing'],
      ['sttFinalMs', 'stt final'],
      ['llmFirstTokenMs', 'llm first token'],
      ['ttsFirstAudioMs', 'tts first audio'],
      ['engineOverheadMs', 'overhead'],
    ];
    for (const [key, stage] of stages) {
      const values = s.turns.flatMap((t) => (t.engine[key] === undefined ? [] : [t.engine[key]]));
      if (values.length > 0) ms(figures, `${label} engine ${stage} p50`, percentile(values, 50));
    }
    const totals = s.turns.map((t) => t.engine.totalMs);
    ms(figures, `${label} engine's own total (its speech end to its first audio written) p50`, percentile(totals, 50));
    ms(figures, `${label} engine's own total (its speech end to its first audio written) p95`, percentile(totals, 95));
    const outside = s.turns.map((t) => t.heardMs - t.engine.totalMs);
    ms(figures, `${label} outside the engine's total (caller figure minus engine total) p50`, percentile(outside, 50));
    ms(figures, `${label} outside the engine's total (caller figure minus engine total) p95`, percentile(outside, 95));
    const split = s.turns.filter((t) => t.leadInMs !== null);
    if (split.length > 0) {
      ms(figures, `${label} of which reply lead-in below the audible level p50`, percentile(split.map((t) => t.leadInMs!), 50));
      ms(figures, `${label} of which the rest (media path both ways, end-of-speech detection) p50`, percentile(split.map((t) => t.heardMs - t.engine.totalMs - t.leadInMs!), 50));
    }
  }
  figures[`caller ${label} barge-ins measured`] = { value: s.stops.length, unit: 'barge-ins' };
  if (s.stops.length > 0) {
    ms(figures, `${label} barge-in speech onset to agent audio stop p50`, percentile(s.stops, 50));
    ms(figures, `${label} barge-in speech onset to agent audio stop p95`, percentile(s.stops, 95));
  }
  if (s.reactions.length > 0) {
    ms(figures, `${label} engine's barge-in reactionMs p50`, percentile(s.reactions, 50));
    ms(figures, `${label} engine's barge-in reactionMs p95`, percentile(s.reactions, 95));
  }
}

function multiPartFigures(t: MultiPartTally, figures: Figures): void {
  const rate = (n: number, of: number): number => Math.round((n / of) * 1000) / 10;
  figures['caller multi-part answers said where the dialogue asked for them'] = { value: t.answers, unit: 'answers' };
  figures['caller multi-part answers said elsewhere (an earlier turn went wrong)'] = { value: t.offScript, unit: 'answers' };
  if (t.answers > 0) figures['caller turns split per 100 multi-part answers'] = { value: rate(t.splits, t.answers), unit: 'splits' };
  if (t.digitAnswers > 0) {
    figures['caller digit-slot fill rate (answer filled in one turn)'] = { value: rate(t.digitFilled, t.digitAnswers), unit: '%' };
    figures['caller digit answers read back right'] = { value: rate(t.digitRight, t.digitAnswers), unit: '%' };
  }
}

export async function runCallerBench(): Promise<Figures> {
  const started = performance.now();
  console.log(`  host load average (1 min) at start: ${loadavg()[0].toFixed(2)} on ${cpus().length} cores`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-caller-'));
  const contexts = defaultContext();
  const plans = await multiPartPlans();
  const localAi = await startLocalAi();
  const engines: Array<[string, EngineUnderTest]> = [];
  const figures: Figures = {};
  const failures: string[] = [];
  try {
    const all: TransportSamples = { turns: [], stops: [], reactions: [] };
    for (const t of TRANSPORTS) {
      try {
        const sut = await startEngine({ dir, name: t.name, localAiPort: localAi.port, telephony: t.telephony, contexts, peer: { log: quietPeerLog } });
        engines.push([t.name, sut]);
        if (ONLY === 'multipart') continue;
        const s = await measureTransport(t.name, sut);
        transportFigures(t.name, s, figures);
        all.turns.push(...s.turns);
        all.stops.push(...s.stops);
      } catch (err) {
        failures.push(`${t.name}: ${(err as Error).message}`);
      }
    }
    if (engines.length > 1 && all.turns.length > 0) {
      const heard = all.turns.map((t) => t.heardMs);
      ms(figures, 'all transports end of caller speech to first reply audio p50', percentile(heard, 50));
      ms(figures, 'all transports end of caller speech to first reply audio p95', percentile(heard, 95));
      ms(figures, 'all transports end of caller speech to first reply audio max', Math.max(...heard));
      ms(figures, 'all transports barge-in speech onset to agent audio stop p50', percentile(all.stops, 50));
      ms(figures, 'all transports barge-in speech onset to agent audio stop p95', percentile(all.stops, 95));
    }

    // Each engine takes the next call as it finishes one; their first calls start a little apart.
    const tally: MultiPartTally = { answers: 0, offScript: 0, splits: 0, digitAnswers: 0, digitFilled: 0, digitRight: 0 };
    let next = 0;
    await Promise.all(
      engines.map(async ([name, sut], k) => {
        await sleep(k * LANE_STAGGER_MS);
        for (let i = next++; ONLY !== 'latency' && i < plans.length; i = next++) {
          try {
            console.log(`  multi-part call ${i + 1} (${plans[i].voice}, ${name}): ${await multiPartCall(sut, plans[i], tally)}`);
          } catch (err) {
            failures.push(`multi-part call ${i + 1}: ${(err as Error).message}`);
          }
        }
      }),
    );
    if (engines.length > 0) multiPartFigures(tally, figures);
  } finally {
    await Promise.all(engines.map(([, sut]) => sut.stop()));
    await localAi.proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const f of failures) console.error(`  ${f}`);
  console.log(`  ran ${((performance.now() - started) / 1000).toFixed(0)} s; host load average (1 min) at end: ${loadavg()[0].toFixed(2)}`);
  if (Object.keys(figures).length === 0) throw new Error(failures.join('; '));
  return figures;
}
