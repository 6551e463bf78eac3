// The local recogniser of an 8 kHz call is sent the pipeline's 16 kHz audio resampled back to 8 kHz, even though
// the pipeline hands the call's own 8 kHz audio along with each frame: on the wire's own audio the recogniser's
// finals of long utterances came later (see LocalAiSttStream).
// What the server hears tells which one went: the pipeline frames carry a prompt, the wire frames silence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { startLocalAiFake, waitUntil, type LocalAiFake, type LocalStreamRecord } from '@ai-agent/test-peers';
import { LocalAiPool } from '../../src/providers/local-ai/connection-pool.ts';
import { LocalAiStt } from '../../src/providers/local-ai/stt.ts';
import type { WireAudio } from '../../src/providers/types.ts';
import { frames, promptTurn, RATE, recordingLogger } from './conformance/common.ts';

/** Streams the prompt turn (pipeline frames, each with a silent wire frame when `wire` is given); the server's record of it. */
async function send(stt: LocalAiStt, fake: LocalAiFake, wire?: WireAudio): Promise<LocalStreamRecord> {
  fake.stt.push({ text: 'hello world' });
  const before = fake.streams.length;
  const stream = await stt.open({ sampleRate: RATE, sourceSampleRate: 8000, wire, language: 'en-US', signal: new AbortController().signal });
  try {
    for (const frame of frames(promptTurn('hello-world').pcm)) {
      stream.write(frame, wire ? new Int16Array(frame.length / 2) : undefined);
      await yieldToIo();
    }
    stream.finalize();
    // The end follows the stream's audio on the connection: once it is in, so is everything the server was sent.
    const record = () => fake.streams.slice(before).find((s) => s.kind === 'stt');
    assert.ok(await waitUntil(() => record()?.controls.includes('stt.end') ?? false, 5000), 'the recognition stream was opened and ended');
    return record()!;
  } finally {
    stream.close();
  }
}

describe('local recogniser audio of an 8 kHz call', () => {
  let fake: LocalAiFake;
  let pool: LocalAiPool;
  let stt: LocalAiStt;
  before(async () => {
    fake = await startLocalAiFake({ token: 'local-wire-test-token-3d9e0a7b51' });
    pool = new LocalAiPool({ url: fake.url, token: fake.token, connectTimeoutMs: 1000, log: recordingLogger().log });
    stt = new LocalAiStt('local', pool, 2000, 0);
  });
  after(async () => {
    await pool.close();
    await fake.close();
  });

  it('is the pipeline audio resampled to 8 kHz when each frame brings the wire\'s own too', async () => {
    const sent = await send(stt, fake, { encoding: 'mulaw', sampleRate: 8000 });
    assert.equal(sent.start.sampleRate, 8000);
    assert.equal(sent.heard, true, 'the server heard the prompt, not the (silent) wire frames');
  });

  it('is the pipeline audio resampled to 8 kHz without them', async () => {
    const sent = await send(stt, fake);
    assert.equal(sent.start.sampleRate, 8000);
    assert.equal(sent.heard, true, 'the server heard the prompt');
  });
});
