// Local AI server benchmark: offline recognition, synthesis and dialogue over the server's WebSocket, on
// this machine's CPU. Runs the real server process; `node --import tsx bench/src/local-ai.ts` runs it alone.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalAiClient, type Grammar } from '@ai-agent/local-ai-server/client';
import { corpusWer, evaluationSet, normalizeWords, parseWav, type Prompt } from '@ai-agent/local-ai-server';
import { mulawEncode } from '@ai-agent/common/audio';
import { nodeArgs } from '@ai-agent/common/testing';
import { percentile } from './stats.ts';

type Figures = Record<string, { value: number; unit: string }>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOUNDS = process.env.ASTERISK_SOUNDS_DIR ?? '/usr/share/asterisk/sounds/en_US_f_Allison';
const FRAME = 160; // 20 ms of 8 kHz µ-law
const SILENCE = 0xff;
const SILENCE_FRAME = new Uint8Array(FRAME).fill(SILENCE);

const CALLER_LINES = [
  'What are your opening hours?',
  'I forgot my password, can you help me reset it?',
  'I would like to talk to a person please.',
  'Are you open on Saturday?',
  'Goodbye, thank you.',
];

interface ServerProcess {
  url: string;
  stop(): Promise<void>;
}

async function startServer(): Promise<ServerProcess> {
  const child = spawn(process.execPath, nodeArgs('local-ai-server/src/main.ts'), {
    cwd: ROOT,
    env: { ...process.env, LOCAL_WS_PORT: '0', LOCAL_WS_HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The port comes from the "listening" log line; later output is read and dropped so the pipe never fills.
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`local AI server did not start: ${out.slice(-500)}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 100_000) out += d;
      const m = /"port":(\d+).*local AI server listening/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local AI server exited (${code}) before listening`));
    });
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function promptAudio(file: string): Uint8Array {
  return mulawEncode(parseWav(readFileSync(file)).samples);
}

async function collect(audio: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of audio) parts.push(c);
  return Buffer.concat(parts);
}

/** Recognises one utterance sent as fast as the socket takes it; resolves with all finals joined. */
async function recogniseFast(client: LocalAiClient, audio: Uint8Array, grammar?: Grammar): Promise<string> {
  const stream = await client.openStt({ encoding: 'mulaw', sampleRate: 8000, grammar, partials: false });
  const finals: string[] = [];
  stream.on('final', (t) => finals.push(t));
  for (let i = 0; i < audio.length; i += FRAME) stream.write(audio.subarray(i, i + FRAME));
  // 700 ms of trailing silence, framed like a call's.
  for (let i = 0; i < 35; i++) stream.write(SILENCE_FRAME);
  await stream.end();
  return finals.join(' ');
}

/** Runs prompts through `concurrency` parallel streams; returns WER and wall time. */
async function recogniseSet(client: LocalAiClient, prompts: Prompt[], concurrency: number) {
  const pairs: Array<{ reference: string; hypothesis: string }> = [];
  const queue = [...prompts];
  let audioSeconds = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const audio = promptAudio(p.file);
        audioSeconds += audio.length / 8000;
        pairs.push({ reference: p.text, hypothesis: await recogniseFast(client, audio) });
      }
    }),
  );
  return { ...corpusWer(pairs), wallSeconds: (performance.now() - start) / 1000, audioSeconds };
}

/**
 * Capacity: streams opened first (as on established calls), then fed prompts back to back as fast as they
 * are decoded. Audio seconds decoded per wall second is how many callers could talk at once in real time.
 */
async function throughput(client: LocalAiClient, prompts: Prompt[], streams: number): Promise<number> {
  const open = await Promise.all(Array.from({ length: streams }, () => client.openStt({ encoding: 'mulaw', sampleRate: 8000, partials: false })));
  await sleep(1500); // let every decoder finish loading its model
  const queue = [...prompts];
  let audioSeconds = 0;
  const start = performance.now();
  await Promise.all(
    open.map(async (stream) => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const audio = Buffer.concat([promptAudio(p.file), new Uint8Array(4000).fill(SILENCE)]);
        audioSeconds += audio.length / 8000;
        const final = new Promise((resolve) => stream.once('final', resolve));
        for (let i = 0; i < audio.length; i += FRAME) stream.write(audio.subarray(i, i + FRAME));
        await final;
      }
    }),
  );
  await Promise.all(open.map((s) => s.end())); // flushes what is still being decoded
  return audioSeconds / ((performance.now() - start) / 1000);
}

function wordsRight(reference: string, hypothesis: string): { right: number; total: number } {
  const ref = normalizeWords(reference);
  const { errors } = corpusWer([{ reference, hypothesis }]);
  return { right: Math.max(0, ref.length - errors), total: ref.length };
}

async function grammarTurns(client: LocalAiClient): Promise<number> {
  let right = 0;
  let total = 0;
  const add = (r: { right: number; total: number }): void => {
    right += r.right;
    total += r.total;
  };
  const digits = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  const digitAudio = digits.map((_, i) => promptAudio(`${SOUNDS}/digits/${i}.wav`));
  // Single digits (menu choice).
  for (let i = 0; i < digits.length; i++) add(wordsRight(digits[i], await recogniseFast(client, digitAudio[i], { builtin: 'digit' })));
  // Four-digit strings (account numbers), digits 100 ms apart.
  const gap = new Uint8Array(800).fill(SILENCE);
  for (const seq of [[4, 1, 2, 7], [9, 0, 3, 5], [6, 8, 8, 2], [1, 3, 5, 7], [2, 4, 6, 9]]) {
    const audio = Buffer.concat(seq.flatMap((d) => [digitAudio[d], gap]));
    add(wordsRight(seq.map((d) => digits[d]).join(' '), await recogniseFast(client, audio, { builtin: 'digits' })));
  }
  // Yes/no answers in three synthetic voices, scored by meaning ("yeah" heard as "yes" is right).
  const meaning = (w: string): string => (/^(yes|yeah|yep|correct|right|sure|okay)$/.test(w.trim()) ? 'yes' : /^(no|nope|wrong|not)$/.test(w.trim()) ? 'no' : w);
  for (const voice of ['rms', 'awb', 'slt']) {
    for (const word of ['yes', 'no', 'yeah', 'nope', 'correct']) {
      const audio = await collect(client.synthesize(`${word}.`, { sampleRate: 8000, encoding: 'mulaw', voice }));
      const heard = await recogniseFast(client, audio, { builtin: 'yesno' });
      add({ right: meaning(heard) === meaning(word) ? 1 : 0, total: 1 });
    }
  }
  // Menu words from Allison's prompts, in a phrase grammar.
  const menu = { goodbye: 'goodbye', hello: 'hello', 'auth-thankyou': 'thank you', 'call-waiting': 'call waiting', 'call-forwarding': 'call forwarding', cancelled: 'cancelled' };
  const grammar: Grammar = { phrases: Object.values(menu) };
  for (const [file, text] of Object.entries(menu)) add(wordsRight(text, await recogniseFast(client, promptAudio(`${SOUNDS}/${file}.wav`), grammar)));
  return right / total;
}

/**
 * One full turn as on a call: caller audio paced at 20 ms, the first final, a chat request, a streamed
 * reply synthesized sentence by sentence. Latency is from the caller's last speech frame to the first
 * byte of reply audio (it includes the recognizer's end-of-speech silence window).
 */
async function fullTurn(client: LocalAiClient, caller: Uint8Array): Promise<{ turnMs: number; finalMs: number }> {
  const stream = await client.openStt({ encoding: 'mulaw', sampleRate: 8000 });
  let speechEnd = 0;
  const finalAt = new Promise<[string, number]>((resolve) => stream.once('final', (t) => resolve([t, performance.now()])));
  let stop = false;
  const pacer = (async () => {
    const start = performance.now();
    const frames = Math.ceil(caller.length / FRAME);
    for (let n = 0; !stop; n++) {
      stream.write(n < frames ? caller.subarray(n * FRAME, (n + 1) * FRAME) : SILENCE_FRAME);
      if (n === frames - 1) speechEnd = performance.now();
      const due = start + (n + 1) * 20 - performance.now();
      if (due > 0) await sleep(due);
      if (n > frames + 150) break; // 3 s of silence without a final: give up
    }
  })();
  const [text, finalTime] = await finalAt;
  const tts = client.openTts({ sampleRate: 8000, encoding: 'mulaw' });
  const firstAudio = (async () => {
    for await (const _ of tts.audio) return performance.now();
    return NaN;
  })();
  for await (const ev of client.chat([{ role: 'user', content: text }], [{ name: 'transfer' }, { name: 'hangup' }])) {
    if (ev.type === 'delta') tts.push(ev.text);
  }
  tts.end();
  const audioAt = await firstAudio;
  stop = true;
  await pacer;
  await stream.end();
  return { turnMs: audioAt - speechEnd, finalMs: finalTime - speechEnd };
}

export async function runLocalAiBench(): Promise<Figures> {
  const server = await startServer();
  const client = await LocalAiClient.connect(server.url);
  const figures: Figures = {};
  try {
    const prompts = evaluationSet(30);

    // Warm-up: first use of each code path (WASM resampler, helper spawn) is not what a call sees.
    await recogniseFast(client, promptAudio(prompts[0].file));

    const single = await recogniseSet(client, prompts.slice(0, 8), 1);
    figures['stt real-time factor (1 stream, 8 kHz)'] = { value: single.wallSeconds / single.audioSeconds, unit: 'x' };

    const all = await recogniseSet(client, prompts, 2);
    figures['stt WER open vocabulary (30 Allison prompts, 8 kHz µ-law)'] = { value: all.wer * 100, unit: '%' };
    figures['stt concurrent real-time streams (audio seconds decoded per second, 4 open streams)'] = {
      value: await throughput(client, prompts.slice(0, 16), 4),
      unit: 'streams',
    };

    figures['stt grammar turns words right (digits, yes/no, menu)'] = { value: (await grammarTurns(client)) * 100, unit: '%' };

    const ttsFirst: number[] = [];
    for (const line of ['Thank you for calling Example Company.', 'We are open Monday to Friday from nine to six.', 'Please say your account number, one digit at a time.', 'Goodbye!']) {
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        for await (const _ of client.synthesize(line, { sampleRate: 8000, encoding: 'mulaw' })) break;
        ttsFirst.push(performance.now() - t0);
      }
    }
    figures['tts time to first audio p50 (flite, 8 kHz µ-law)'] = { value: percentile(ttsFirst, 50), unit: 'ms' };

    const chatFirst: number[] = [];
    for (const line of CALLER_LINES) {
      const t0 = performance.now();
      let text = '';
      for await (const ev of client.chat([{ role: 'user', content: line }])) {
        if (ev.type === 'delta') text += ev.text;
        if (/[.!?]\s/.test(text) || ev.type === 'done') break;
      }
      chatFirst.push(performance.now() - t0);
    }
    figures['responder time to first sentence p50 (dialogue)'] = { value: percentile(chatFirst, 50), unit: 'ms' };

    const callers: Uint8Array[] = [];
    for (const voice of ['rms', 'awb']) {
      for (const line of CALLER_LINES) callers.push(await collect(client.synthesize(line, { sampleRate: 8000, encoding: 'mulaw', voice })));
    }
    const turns: number[] = [];
    const finals: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await fullTurn(client, callers[i % callers.length]);
      turns.push(r.turnMs);
      finals.push(r.finalMs);
    }
    figures['stt final latency after end of speech p50'] = { value: percentile(finals, 50), unit: 'ms' };
    figures['full offline turn p50 (end of speech -> first reply audio, 20 turns)'] = { value: percentile(turns, 50), unit: 'ms' };
    figures['full offline turn p95 (end of speech -> first reply audio, 20 turns)'] = { value: percentile(turns, 95), unit: 'ms' };
  } finally {
    await client.close();
    await server.stop();
  }
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = await runLocalAiBench();
  for (const [name, f] of Object.entries(figures)) console.log(`${name}: ${Number(f.value.toFixed(2))} ${f.unit}`);
}
