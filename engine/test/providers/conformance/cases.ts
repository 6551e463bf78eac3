// The cases every adapter of a stage passes, whatever its vendor: a full turn, a cancel the fake sees, and
// each failure (dropped, refused key, rate limit, server error, stall) as a typed error that never hangs,
// never leaks the key into what the adapter throws or logs.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { waitUntil } from '@ai-agent/test-peers';
import type { ChatMessage, SttStream, ToolCall } from '../../../src/providers/types.ts';
import { ProviderError } from '../../../src/providers/errors.ts';
import { assertFailure, EXPECTED, FAULTS, frames, promptTurn, RATE, within, type Turn } from './common.ts';
import type { LlmSubject, SttSubject, TtsSubject } from './subjects.ts';

const TURN_TEXT = 'hello world';
/** A cancel must reach the fake well before any of the adapter's own timeouts could have ended the request. */
const CANCEL_SEEN_MS = 1500;
const turn = (): Turn => promptTurn('hello-world');

async function openStt(s: SttSubject, signal = new AbortController().signal): Promise<SttStream> {
  return s.make().open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal });
}

/** Writes `pcm` from `fromMs` to `toMs` frame by frame, letting I/O run between frames as a live call does. */
async function speak(stream: SttStream, t: Turn, fromMs?: number, toMs?: number): Promise<void> {
  for (const frame of frames(t.pcm, fromMs, toMs)) {
    stream.write(frame);
    await yieldToIo();
  }
}

/** The error a scripted fault ends in: the open refused, or the stream's error during a turn. */
async function sttFailure(s: SttSubject, t: Turn): Promise<unknown> {
  let stream: SttStream;
  try {
    stream = await openStt(s);
  } catch (err) {
    return err;
  }
  const failed = new Promise((resolve) => {
    stream.on('error', resolve);
    // A busy server may cost the turn only, not the stream (the next turn opens afresh): only when rate limited.
    stream.on('turnLost', (err) => resolve(err instanceof ProviderError && err.failure === 'rate_limited' ? err : new Error(`a turn lost to ${String(err)}`)));
  });
  try {
    await speak(stream, t);
    stream.finalize();
    return await failed;
  } finally {
    stream.close();
  }
}

/** What consuming `stream` to its end throws (an Error saying so if it ends without one). */
async function errorOf(stream: AsyncIterable<unknown>): Promise<unknown> {
  try {
    for await (const _ of stream);
  } catch (err) {
    return err;
  }
  return new Error('the stream ended without an error');
}

export function sttConformance(subject: () => SttSubject): void {
  it('declares its capabilities', () => {
    const caps = subject().make().capabilities;
    assert.equal(caps.finalize, true, 'the pipeline ends turns with finalize()');
    assert.equal(typeof caps.streaming, 'boolean');
    assert.equal(typeof caps.keyterms, 'boolean');
    assert.ok(caps.audio && caps.audio.sampleRates.length > 0 && caps.audio.encodings.includes('linear16'));
  });

  it('a turn of real speech ends in a final with its words', async () => {
    const s = subject();
    const t = turn();
    s.scriptTurn(TURN_TEXT, t);
    const stream = await openStt(s);
    const finals: string[] = [];
    const errors: Error[] = [];
    stream.on('final', (text) => finals.push(text));
    stream.on('error', (err) => errors.push(err));
    try {
      await speak(stream, t);
      stream.finalize();
      await within(waitUntil(() => finals.some((f) => f.length > 0), 6000), 6500, 'the final');
    } finally {
      stream.close();
    }
    assert.deepEqual(finals.filter((f) => f.length > 0), [TURN_TEXT]);
    assert.deepEqual(errors, []);
  });

  it('closing mid-turn reaches the fake', async () => {
    const s = subject();
    const t = turn();
    s.armCancel(t);
    const provider = s.make();
    const stream = await provider.open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal: new AbortController().signal });
    stream.on('error', () => undefined);
    await speak(stream, t, 0, (t.speech.startMs + t.speech.endMs) / 2);
    // An utterance-level recogniser has nothing at the vendor until the turn ends.
    if (!provider.capabilities.streaming) stream.finalize();
    await within(waitUntil(() => s.inFlight(), 6000), 6500, 'the request');
    stream.close();
    assert.ok(await within(waitUntil(() => s.cancelSeen(), CANCEL_SEEN_MS), CANCEL_SEEN_MS + 500, 'the cancel'));
  });

  for (const kind of FAULTS) {
    it(`${kind === 'drop' || kind === 'stall' ? `a ${kind}` : `HTTP ${kind}`} fails the stream with a ${EXPECTED[kind]} error`, async () => {
      const s = subject();
      const t = turn();
      s.scriptFault(kind, t);
      assertFailure(await within(sttFailure(s, t)), EXPECTED[kind], s.key, s.logger.lines);
    });
  }
}

const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You answer callers of a bakery in one short sentence.' },
  { role: 'user', content: 'when do you open tomorrow' },
];
const TOOLS = [{ name: 'hangup', description: 'End the call.', parameters: { type: 'object', properties: { reason: { type: 'string' } } } }];

export function llmConformance(subject: () => LlmSubject): void {
  it('declares its capabilities', () => {
    const { streaming, toolCalls, freeText } = subject().make().capabilities ?? {};
    assert.deepEqual({ streaming, toolCalls }, { streaming: true, toolCalls: true });
    // A language model (undefined or true), or the local server's rule dialogue once it said so (false).
    assert.ok(freeText === undefined || typeof freeText === 'boolean');
  });

  it('a turn streams the reply text and a tool call with its arguments', async () => {
    const s = subject();
    s.scriptReply('We open at seven tomorrow. Goodbye!', { name: 'hangup', arguments: { reason: 'answered' } });
    let text = '';
    const calls: ToolCall[] = [];
    for await (const event of s.make().chat(MESSAGES, TOOLS, new AbortController().signal)) {
      if (event.type === 'text') text += event.text;
      else if (event.type === 'tool_call') calls.push(event.call);
    }
    assert.equal(text, 'We open at seven tomorrow. Goodbye!');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.name, 'hangup');
    assert.ok(calls[0]!.id.length > 0);
    assert.deepEqual(JSON.parse(calls[0]!.arguments), { reason: 'answered' });
  });

  it('aborting mid-reply ends the stream at once and reaches the fake', async () => {
    const s = subject();
    s.scriptReply(Array.from({ length: 30 }, (_, i) => `word${i}`).join(' '), undefined, 50);
    const abort = new AbortController();
    let pieces = 0;
    const started = Date.now();
    for await (const event of s.make().chat(MESSAGES, [], abort.signal)) {
      if (event.type === 'text' && ++pieces === 2) abort.abort();
    }
    assert.ok(Date.now() - started < 1000, 'the stream ended promptly (the whole reply takes 1.5 s)');
    assert.equal(pieces, 2);
    assert.ok(await within(waitUntil(() => s.cancelSeen(), CANCEL_SEEN_MS), CANCEL_SEEN_MS + 500, 'the cancel'));
  });

  for (const kind of FAULTS) {
    it(`${kind === 'drop' || kind === 'stall' ? `a ${kind}` : `HTTP ${kind}`} fails the reply with a ${EXPECTED[kind]} error`, async () => {
      const s = subject();
      s.scriptFault(kind);
      const err = await within(errorOf(s.make().chat(MESSAGES, TOOLS, new AbortController().signal)));
      assertFailure(err, EXPECTED[kind], s.key, s.logger.lines);
    });
  }
}

const SENTENCE = 'Hello there, this is a test of streamed speech.';
/** The fakes' default audio: about 40 ms per character. */
const SENTENCE_MS = SENTENCE.length * 40;

export function ttsConformance(subject: () => TtsSubject): void {
  it('declares its capabilities', () => {
    const caps = subject().make().capabilities;
    assert.ok(caps && caps.streaming && caps.audio.encodings.includes('linear16') && caps.audio.sampleRates.length > 0);
  });

  it('streams a sentence: the first audio comes long before the last, all of it at the rate asked for', async () => {
    const s = subject();
    s.scriptPaced(60);
    const started = Date.now();
    let firstAt = 0;
    let samples = 0;
    for await (const chunk of s.make().synthesize(SENTENCE, { sampleRate: RATE, signal: new AbortController().signal })) {
      firstAt ||= Date.now();
      assert.equal(chunk.sampleRate, RATE);
      samples += chunk.pcm.length;
    }
    const total = Date.now() - started;
    assert.ok(firstAt - started < total / 2, `first audio after ${firstAt - started} ms of ${total} ms`);
    const ms = (samples / RATE) * 1000;
    assert.ok(Math.abs(ms - SENTENCE_MS) < SENTENCE_MS * 0.05, `${Math.round(ms)} ms of audio for ${SENTENCE_MS} ms of speech`);
  });

  it('aborting after the first audio ends the stream at once and reaches the fake', async () => {
    const s = subject();
    s.scriptPaced(50);
    const abort = new AbortController();
    let chunks = 0;
    for await (const _ of s.make().synthesize(SENTENCE, { sampleRate: RATE, signal: abort.signal })) {
      if (++chunks === 1) abort.abort();
    }
    assert.equal(chunks, 1);
    assert.ok(await within(waitUntil(() => s.cancelSeen(), CANCEL_SEEN_MS), CANCEL_SEEN_MS + 500, 'the cancel'));
  });

  for (const kind of FAULTS) {
    it(`${kind === 'drop' || kind === 'stall' ? `a ${kind}` : `HTTP ${kind}`} fails the synthesis with a ${EXPECTED[kind]} error`, async () => {
      const s = subject();
      s.scriptFault(kind);
      const err = await within(errorOf(s.make().synthesize(SENTENCE, { sampleRate: RATE, signal: new AbortController().signal })));
      assertFailure(err, EXPECTED[kind], s.key, s.logger.lines);
    });
  }
}
