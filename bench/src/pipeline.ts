// Conversation pipeline latency. Part 1: turns against the real local AI server (pocketsphinx, flite, the rule
// responder) over a real RTP media stream — end of caller speech → first agent audio, split by stage from the
// conversation's own TurnLatency records. Part 2: barge-in reaction on the wire (caller speech onset → last
// agent audio frame sent), with deterministic providers so every reply is long enough to interrupt; then the
// same over a line that echoes the agent back (does the agent interrupt itself? can the caller still?).
// `node --import tsx bench/src/pipeline.ts` runs it alone.
import { pathToFileURL } from 'node:url';
import { contextSchema, createLogger } from '@ai-agent/common';
import { jsonLines, startService } from '@ai-agent/common/testing';
import { ProviderRegistry } from '../../engine/src/providers/registry.ts';
import type { TurnLatency } from '../../engine/src/call/index.ts';
import { prompt8k } from '../../engine/test/pipeline/helpers/audio.ts';
import { closeVad, startCall } from '../../engine/test/pipeline/helpers/harness.ts';
import { sleep, type LineEcho } from '../../engine/test/pipeline/helpers/rtp-caller.ts';
import { ScriptedLlm, ScriptedStt, ScriptedTts } from '../../engine/test/pipeline/helpers/scripted-providers.ts';
import { percentile } from './stats.ts';

type Figures = Record<string, { value: number; unit: string }>;

const TURNS = Number(process.env.PIPELINE_BENCH_TURNS ?? 20);
const BARGE_INS = Number(process.env.PIPELINE_BENCH_BARGE_INS ?? 40);
/** Allison prompts the caller says, in turn (the responder answers each, matched or not). */
const UTTERANCES = ['hours', 'vm-newpassword', 'vm-helpexit', 'agent-pass'];
/** A 2-wire hybrid's echo: 12 dB return loss (a typical analogue line), 60 ms round trip. */
const ECHO: LineEcho = { lossDb: 12, delayMs: 60 };

async function turnLatencies(): Promise<TurnLatency[]> {
  const log = createLogger({ service: 'bench', level: 'silent' });
  const server = startService('local-ai-server/src/main.ts', { LOCAL_WS_PORT: '0', LOG_LEVEL: 'info' });
  const registry = await (async () => {
    const line = await server.waitFor(/local AI server listening/, 30_000);
    const port = jsonLines(line)[0]?.port as number;
    return new ProviderRegistry({ local: { type: 'local_ai', url: `ws://127.0.0.1:${port}`, connect_timeout_ms: 3000 } }, log, {});
  })();
  const latencies: TurnLatency[] = [];
  try {
    const context = contextSchema.parse({ greeting: '', limits: { no_input_seconds: 60 } });
    const call = await startCall({ providers: registry.forContext('default', context), context: { greeting: '', limits: { no_input_seconds: 60 } } });
    try {
      for (let i = 0; i < TURNS && !call.media.closed; i++) {
        await call.caller.say(prompt8k(UTTERANCES[i % UTTERANCES.length]));
        const answer = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 8000);
        if (answer === null) continue;
        await call.caller.waitForAgentSilence(answer, 400, 20_000);
        await sleep(300);
      }
      for (const turn of call.sink.turns) if (turn.speaker === 'agent' && turn.latency?.totalMs !== undefined) latencies.push(turn.latency);
    } finally {
      await call.close();
    }
  } finally {
    await registry.close();
    await server.stop();
  }
  return latencies;
}

interface BargeInRun {
  wire: number[];
  engine: number[];
  /** Agent speech heard before the caller first spoke, and what the agent did over it. */
  soloMs: number;
  soloBargeIns: number;
  soloFalseBargeIns: number;
}

/**
 * Barge-ins on a long reply. With `echo`, the agent speaks a real recording that the line echoes back, and
 * the first reply plays out with the caller silent: any barge-in then is the agent interrupting itself.
 */
async function bargeInReactions(echo?: LineEcho): Promise<BargeInRun> {
  const reply = 'Here is a long answer that keeps going so that the caller has plenty of time to interrupt it somewhere in the middle of a sentence.';
  // Every caller utterance is an interruption of the reply before it, and gets the same long reply.
  const stt = new ScriptedStt(Array.from({ length: BARGE_INS * 3 }, () => 'please stop now'));
  const tts = echo ? new ScriptedTts('voice', 10, prompt8k('vm-options')) : new ScriptedTts();
  const call = await startCall({
    providers: { stt, llm: new ScriptedLlm(() => [{ type: 'text', text: reply }]), tts },
    context: { greeting: '', limits: { no_input_seconds: 60 } },
  });
  call.caller.echo = echo ?? null;
  const run: BargeInRun = { wire: [], engine: [], soloMs: 0, soloBargeIns: 0, soloFalseBargeIns: 0 };
  try {
    await call.caller.say(prompt8k('vm-goodbye'));
    if (echo) {
      const start = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000);
      if (start !== null) await call.caller.waitForAgentSilence(start, 400, 30_000);
      run.soloMs = start === null ? 0 : (call.caller.audibleAt[call.caller.audibleAt.length - 1] ?? start) - start;
      run.soloBargeIns = call.conv.stats.bargeIns;
      run.soloFalseBargeIns = call.conv.stats.falseBargeIns;
      await call.caller.say(prompt8k('vm-goodbye'));
    }
    for (let i = 0; i < BARGE_INS; i++) {
      const start = await call.caller.waitForAgentAudio(call.caller.lastSpeechEndAt, 5000);
      if (start === null) break;
      await sleep(700 + ((i * 137) % 700));
      await call.caller.say(prompt8k(UTTERANCES[i % UTTERANCES.length]));
      run.wire.push(call.caller.agentStopAfter(call.caller.speechOnsetAt));
    }
  } finally {
    await call.close();
  }
  run.engine = call.sink.events.flatMap((e) => (e.kind === 'barge_in' && e.reactionMs !== undefined ? [e.reactionMs] : []));
  return run;
}

export async function runPipelineBench(): Promise<Figures> {
  const figures: Figures = {};
  try {
    const turns = await turnLatencies();
    const stages: Array<[keyof TurnLatency, string]> = [
      ['endpointingMs', 'endpointing'],
      ['sttFinalMs', 'stt final'],
      ['llmFirstTokenMs', 'llm first token'],
      ['firstSentenceMs', 'llm first sentence'],
      ['ttsFirstAudioMs', 'tts first audio'],
      ['engineOverheadMs', 'engine overhead'],
      ['totalMs', 'speech end to first agent audio'],
    ];
    figures['pipeline turns measured'] = { value: turns.length, unit: 'turns' };
    for (const [key, label] of stages) {
      const values = turns.map((t) => t[key]).filter((v): v is number => v !== undefined);
      figures[`pipeline ${label} p50`] = { value: percentile(values, 50), unit: 'ms' };
      figures[`pipeline ${label} p95`] = { value: percentile(values, 95), unit: 'ms' };
    }
    const { wire, engine } = await bargeInReactions();
    figures['pipeline barge-ins measured'] = { value: wire.length, unit: 'barge-ins' };
    figures['pipeline barge-in reaction (speech onset to last agent frame) p50'] = { value: percentile(wire, 50), unit: 'ms' };
    figures['pipeline barge-in reaction (speech onset to last agent frame) p95'] = { value: percentile(wire, 95), unit: 'ms' };
    figures['pipeline barge-in onset to decision p95'] = { value: percentile(engine, 95), unit: 'ms' };
    const echo = await bargeInReactions(ECHO);
    const echoLabel = `echo ${ECHO.lossDb} dB ${ECHO.delayMs} ms`;
    figures[`pipeline agent speech over ${echoLabel}, caller silent`] = { value: echo.soloMs, unit: 'ms' };
    figures[`pipeline self-interruptions over ${echoLabel}`] = { value: echo.soloBargeIns, unit: 'barge-ins' };
    figures[`pipeline false barge-ins (agent paused, resumed) over ${echoLabel}`] = { value: echo.soloFalseBargeIns, unit: 'pauses' };
    figures[`pipeline barge-in reaction over ${echoLabel} p50`] = { value: percentile(echo.wire, 50), unit: 'ms' };
    figures[`pipeline barge-in reaction over ${echoLabel} p95`] = { value: percentile(echo.wire, 95), unit: 'ms' };
  } finally {
    await closeVad();
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await runPipelineBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${Number.isInteger(f.value) ? f.value : f.value.toFixed(1)} ${f.unit}`);
  process.exit(0);
}
