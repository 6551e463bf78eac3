// The local recogniser under load: every server recogniser in use (`busy`) delays a caller's turn instead of
// failing the call, with the caller's audio kept meanwhile (past busy_retry_ms only that turn is lost); a recogniser slow to finish (still sending
// partials) is waited for, and only one that goes silent fails the turn.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startLocalAiFake, type LocalAiFake } from '@ai-agent/test-peers';
import { LocalAiPool } from '../../src/providers/local-ai/connection-pool.ts';
import { LocalAiStt } from '../../src/providers/local-ai/stt.ts';
import { ProviderError } from '../../src/providers/errors.ts';
import type { SttStream } from '../../src/providers/types.ts';
import { frames, promptTurn, RATE, recordingLogger } from './conformance/common.ts';

const BUSY = { fault: { kind: 'status', status: 429 } } as const;
const IDLE_MS = 500;

let fake: LocalAiFake | undefined;
let pool: LocalAiPool | undefined;
afterEach(async () => {
  await pool?.close();
  await fake?.close();
  pool = fake = undefined;
});

async function setup(busyRetryMs: number): Promise<{ fake: LocalAiFake; stt: LocalAiStt }> {
  fake = await startLocalAiFake({ token: 'local-busy-test-token-8f2a61c0' });
  pool = new LocalAiPool({ url: fake.url, token: fake.token, connectTimeoutMs: 1000, log: recordingLogger().log });
  return { fake, stt: new LocalAiStt('local', pool, IDLE_MS, busyRetryMs) };
}

/** Speaks the prompt turn in real time (20 ms a frame), ends it, and gathers what the stream says; stops at an error, as the conversation does. */
async function turn(stream: SttStream): Promise<{ finals: string[]; partials: string[]; errors: Error[]; lost: Error[]; sentBytes: number }> {
  const out = { finals: [] as string[], partials: [] as string[], errors: [] as Error[], lost: [] as Error[], sentBytes: 0 };
  stream.on('final', (text) => out.finals.push(text));
  stream.on('partial', (text) => out.partials.push(text));
  stream.on('error', (err) => out.errors.push(err));
  stream.on('turnLost', (err) => out.lost.push(err));
  const t = promptTurn('hello-world');
  for (const frame of frames(t.pcm)) {
    if (out.errors.length > 0) return out;
    stream.write(frame);
    out.sentBytes += frame.byteLength;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  stream.finalize();
  return out;
}

const until = async (check: () => boolean, ms: number): Promise<void> => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe('local STT when every recogniser is busy', () => {
  it('keeps trying while the server is busy and recognises the turn, none of its speech lost', async () => {
    const { fake, stt } = await setup(2000);
    fake.stt.push(BUSY, BUSY, BUSY, { text: 'hello world' });
    const stream = await stt.open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal: new AbortController().signal });
    try {
      const out = await turn(stream);
      await until(() => out.finals.length > 0 || out.errors.length > 0, 3000);
      assert.deepEqual(out.errors.map((e) => e.message), []);
      assert.deepEqual(out.finals, ['hello world']);
      const opens = fake.streams.filter((s) => s.kind === 'stt');
      assert.equal(opens.length, 4, 'three refused opens, then the one that served the turn');
      // Sent at 8 kHz: half the pipeline's bytes, from the 300 ms pre-roll before the onset to the end.
      const t = promptTurn('hello-world');
      const fromOnset = ((t.pcm.length / RATE) * 1000 - (t.speech.startMs - 300)) * 16;
      assert.ok(opens[3]!.audioBytes >= fromOnset - 640, `the recogniser got ${opens[3]!.audioBytes} bytes; the turn from its pre-roll is ${fromOnset}`);
    } finally {
      stream.close();
    }
  });

  it('loses only the turn once the server has stayed busy for busy_retry_ms, and recognises the next one afresh', async () => {
    const { fake, stt } = await setup(300);
    let busy = true;
    fake.stt.setDefault(() => (busy ? BUSY : { text: 'hello world' }));
    const stream = await stt.open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal: new AbortController().signal });
    const sttOpens = () => fake.streams.filter((s) => s.kind === 'stt');
    try {
      const started = Date.now();
      const first = await turn(stream);
      assert.deepEqual(first.errors.map((e) => e.message), [], 'a busy server does not fail the stream');
      assert.equal(first.lost.length, 1, 'the turn is lost once');
      const err = first.lost[0]!;
      assert.ok(err instanceof ProviderError && err.failure === 'rate_limited', `${err.name}: ${err.message}`);
      assert.match(err.message, /stayed busy for 300 ms/);
      const opens = sttOpens().length;
      assert.ok(opens >= 3, `asked ${opens} times before giving up`);
      assert.ok(Date.now() - started < 5000);

      // The rest of the lost turn asked for no recogniser; the next turn gets one, with none of the lost audio.
      busy = false;
      const next = await turn(stream);
      await until(() => next.finals.length > 0 || next.errors.length > 0, 3000);
      assert.deepEqual(next.errors.map((e) => e.message), []);
      assert.deepEqual(next.finals, ['hello world']);
      assert.equal(sttOpens().length, opens + 1, 'one open for the next turn, none while the lost turn went on');
      const turnBytes = promptTurn('hello-world').pcm.length;
      assert.ok(sttOpens().at(-1)!.audioBytes <= turnBytes, `${sttOpens().at(-1)!.audioBytes} bytes sent for a ${turnBytes}-byte turn`);
    } finally {
      stream.close();
    }
  });
});

describe('local STT finishing a turn', () => {
  it('waits for a recogniser that is slow but still sending partials, past the idle timeout', async () => {
    const { fake, stt } = await setup(0);
    // 8 partials 150 ms apart: the final comes ~1.2 s after the end of the turn, over twice the 500 ms idle timeout.
    fake.stt.push({ text: 'hello world', partials: ['h', 'he', 'hel', 'hell', 'hello', 'hello w', 'hello wo', 'hello wor'], pace: { firstByteMs: 300, betweenChunksMs: 150 } });
    const stream = await stt.open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal: new AbortController().signal });
    try {
      const out = await turn(stream);
      await until(() => out.finals.length > 0 || out.errors.length > 0, 5000);
      assert.deepEqual(out.errors.map((e) => e.message), []);
      assert.deepEqual(out.finals, ['hello world']);
      assert.equal(out.partials.at(-1), 'hello wor');
    } finally {
      stream.close();
    }
  });

  it('fails the turn as a timeout when the recogniser sends nothing for the idle timeout', async () => {
    const { fake, stt } = await setup(0);
    fake.stt.push({ text: 'hello world', partials: ['h', 'he'], pace: { betweenChunksMs: 100 }, fault: { kind: 'stall', afterChunks: 2 } });
    const stream = await stt.open({ sampleRate: RATE, sourceSampleRate: 8000, language: 'en-US', signal: new AbortController().signal });
    try {
      const out = await turn(stream);
      await until(() => out.errors.length > 0, 5000);
      assert.deepEqual(out.finals, []);
      assert.deepEqual(out.partials, ['h', 'he']);
      const err = out.errors[0];
      assert.ok(err instanceof ProviderError && err.failure === 'timeout', String(err));
      assert.match(err.message, /sent nothing for 500 ms after the end of the turn/);
    } finally {
      stream.close();
    }
  });
});
