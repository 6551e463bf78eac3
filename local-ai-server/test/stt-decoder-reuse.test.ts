// Decoder reuse: one pocketsphinx helper process serves stream after stream (per utterance, as the engine
// opens them), is reset between them, and is replaced when it dies or hangs. With no warm spares configured
// the server runs exactly one narrowband decoder, so every stream below goes through the same process
// unless it was replaced; the tests see the processes from /proc, as an operator would.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { LocalAiClient } from '../src/client.ts';
import { evaluationSet } from '../src/eval/prompts.ts';
import { corpusWer } from '../src/eval/wer.ts';
import { mulawFile, recognise, silence, speak, startTestServer, type TestServer } from './harness.ts';

const SOUNDS = process.env.ASTERISK_SOUNDS_DIR ?? '/usr/share/asterisk/sounds/en_US_f_Allison';

/** Recognition helper processes that are children of this (the server's) process. */
function helperPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (comm === 'ps_stream' && Number(ppid) === process.pid && state !== 'Z') pids.push(Number(name));
  }
  return pids.sort();
}

async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const until = performance.now() + ms;
  while (!check()) {
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function killHelper(pid: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  process.kill(pid, signal);
  await waitFor(() => !helperPids().includes(pid), `helper ${pid} to go`);
  await new Promise((r) => setTimeout(r, 100)); // the server sees the exit
}

describe('recognition decoder reuse', () => {
  let t: TestServer;
  let client: LocalAiClient;
  const prompts = evaluationSet(16).slice(0, 3);
  const audio = prompts.map((p) => mulawFile(p.file));
  /** Each prompt's text from the first stream of a fresh process: the baseline later streams must equal. */
  const baseline: string[] = [];

  before(async () => {
    t = await startTestServer({}, (cfg) => {
      cfg.stt.pocketsphinx.warm_spares = 0;
    });
    client = await t.connect();
    for (const a of audio) {
      const pid = helperPids();
      baseline.push((await recognise(client, [a])).join(' '));
      // the first stream's process must be a fresh one for the baseline to mean "fresh decoder"
      assert.ok(pid.length <= 1);
    }
  });
  after(() => t.close());

  it('gives the same text for the same audio on stream after stream, on one connection and across connections', async () => {
    const { wer } = corpusWer(prompts.map((p, i) => ({ reference: p.text, hypothesis: baseline[i] })));
    assert.ok(wer <= 0.6, `baseline is not the prompts' text: ${baseline.join(' | ')}`);
    const [pid] = helperPids();
    assert.equal(helperPids().length, 1);
    const other = await t.connect();
    for (const c of [client, other, client]) {
      for (const i of [2, 0, 1]) assert.equal((await recognise(c, [audio[i]])).join(' '), baseline[i], prompts[i].name);
    }
    assert.deepEqual(helperPids(), [pid], 'every stream was served by the one decoder process');
  });

  it('recognises open speech in the stream after a grammar turn', async () => {
    const [pid] = helperPids();
    const digits = await client.openStt({ encoding: 'mulaw', sampleRate: 8000, grammar: { builtin: 'digit' } });
    const heard: Array<[string, boolean]> = [];
    digits.on('final', (text, grammar) => heard.push([text, grammar]));
    await speak(digits, mulawFile(`${SOUNDS}/digits/5.wav`));
    await speak(digits, silence(700));
    await digits.end();
    assert.deepEqual(heard, [['five', true]]);

    // A grammar set and never used (the stream ends before its next utterance) does not carry over either.
    const pending = await client.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    pending.setGrammar({ builtin: 'yesno' });
    await pending.end();

    const open = await client.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    const finals: Array<[string, boolean]> = [];
    open.on('final', (text, grammar) => finals.push([text, grammar]));
    await speak(open, audio[0]);
    await speak(open, silence(700));
    await open.end();
    assert.equal(finals.map(([text]) => text).join(' '), baseline[0]);
    assert.ok(finals.every(([, grammar]) => !grammar), 'decoded with the language model');
    assert.deepEqual(helperPids(), [pid]);
  });

  it('replaces a decoder killed during a stream, and one killed while idle', async () => {
    const [first] = helperPids();
    const stream = await client.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    const errors: string[] = [];
    stream.on('error', (err) => errors.push(err.code));
    await speak(stream, audio[1].subarray(0, 8000));
    await killHelper(first);
    await stream.closed;
    assert.deepEqual(errors, ['engine_error']);

    assert.equal((await recognise(client, [audio[1]])).join(' '), baseline[1]);
    const [second] = helperPids();
    assert.ok(second !== undefined && second !== first);

    await killHelper(second);
    assert.equal((await recognise(client, [audio[2]])).join(' '), baseline[2]);
    const [third] = helperPids();
    assert.ok(third !== undefined && third !== second);
  });

  it('kills and replaces a decoder that does not finish its stream', async () => {
    const [stuck] = helperPids();
    const stream = await client.openStt({ encoding: 'mulaw', sampleRate: 8000 });
    const errors: string[] = [];
    stream.on('error', (err) => errors.push(err.code));
    await speak(stream, audio[0].subarray(0, 8000));
    process.kill(stuck, 'SIGSTOP'); // alive but not answering
    await stream.end(); // the server gives up after its reset timeout (5 s plus the stream's audio)
    assert.deepEqual(errors, ['engine_error']);
    await waitFor(() => !helperPids().includes(stuck), 'the stuck helper to be killed');
    assert.equal((await recognise(client, [audio[0]])).join(' '), baseline[0]);
  });
});
