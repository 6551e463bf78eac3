// The local recogniser of an 8 kHz call hears the wire's own 8 kHz audio, band-limited to 3.7 kHz (see
// LocalAiSttStream), and says so (`wireOnly`), so the pipeline need not resample the call's frames to 16 kHz.
// Without the wire's frames it hears the pipeline's 16 kHz audio resampled to 8 kHz.
// What the server hears tells which one went: each test puts sound in only one of the two.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import { startLocalAiFake, waitUntil, type LocalAiFake, type LocalStreamRecord } from '@ai-agent/test-peers';
import { NO_PCM } from '../../src/call/index.ts';
import { LocalAiPool } from '../../src/providers/local-ai/connection-pool.ts';
import { LocalAiStt } from '../../src/providers/local-ai/stt.ts';
import type { SttStream, WireAudio } from '../../src/providers/types.ts';
import { prompt8k } from '../pipeline/helpers/audio.ts';
import { frames, promptTurn, RATE, recordingLogger } from './conformance/common.ts';

const ULAW_8K: WireAudio = { encoding: 'mulaw', sampleRate: 8000 };
const WIRE_FRAME = 160;

/** 8 kHz audio: 400 ms quiet, `sound`, 800 ms quiet (the prompt turn's shape at the wire's rate). */
function wireTurn(sound: Int16Array): Int16Array {
  const pcm = new Int16Array(3200 + sound.length + 6400);
  pcm.set(sound, 3200);
  return pcm;
}

/** A tone of `hz` at 8 kHz, `ms` long, at a quarter of full scale. */
function tone(hz: number, ms: number): Int16Array {
  const out = new Int16Array((8000 * ms) / 1000);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8192 * Math.sin((2 * Math.PI * hz * i) / 8000));
  return out;
}

/**
 * Writes a turn frame by frame: `wire` at 8 kHz with each frame (the pipeline's 16 kHz frame beside it unless
 * the stream reads only the wire's), or the pipeline's alone; then ends it. The server's record of the stream,
 * or null when no recogniser was opened (nothing that carried sound reached it).
 */
async function send(stt: LocalAiStt, fake: LocalAiFake, turn: { pipeline: Int16Array; wire?: Int16Array }): Promise<{ stream: SttStream; record: LocalStreamRecord | null }> {
  fake.stt.push({ text: 'hello world' });
  const before = fake.streams.length;
  const stream = await stt.open({ sampleRate: RATE, sourceSampleRate: 8000, wire: turn.wire ? ULAW_8K : undefined, language: 'en-US', signal: new AbortController().signal });
  const record = () => fake.streams.slice(before).find((s) => s.kind === 'stt') ?? null;
  try {
    let n = 0;
    for (const frame of frames(turn.pipeline)) {
      const wire = turn.wire?.subarray(n * WIRE_FRAME, ++n * WIRE_FRAME);
      stream.write(stream.wireOnly ? NO_PCM : frame, wire);
      await yieldToIo();
    }
    stream.finalize();
    // The end follows the stream's audio on the connection: once it is in, so is everything the server was sent.
    await waitUntil(() => record()?.controls.includes('stt.end') ?? false, 2000);
    return { stream, record: record() };
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

  it('is the wire\'s own when each frame brings it, and the stream says it needs no pipeline audio', async () => {
    const quietPipeline = new Int16Array(promptTurn('hello-world').pcm.length);
    const { stream, record } = await send(stt, fake, { pipeline: quietPipeline, wire: wireTurn(prompt8k('hello-world')) });
    assert.equal(stream.wireOnly, true);
    assert.ok(record, 'a recogniser was opened');
    assert.equal(record.start.sampleRate, 8000);
    assert.equal(record.heard, true, 'the server heard the prompt on the wire frames (the pipeline frames were silent)');
  });

  it('is band-limited below 4 kHz: a tone at 3.9 kHz does not reach the server, one at 1 kHz does', async () => {
    const pipeline = new Int16Array(((3200 + 8000 + 6400) * RATE) / 8000);
    const high = await send(stt, fake, { pipeline, wire: wireTurn(tone(3900, 1000)) });
    // The tone's onset may open a recogniser (a click is broadband), but the tone itself is not heard.
    assert.notEqual(high.record?.heard, true, 'the 3.9 kHz tone was filtered out');
    const low = await send(stt, fake, { pipeline, wire: wireTurn(tone(1000, 1000)) });
    assert.equal(low.record?.heard, true, 'the 1 kHz tone was heard');
  });

  it('is the pipeline audio resampled to 8 kHz without the wire\'s frames', async () => {
    const { stream, record } = await send(stt, fake, { pipeline: promptTurn('hello-world').pcm });
    assert.equal(stream.wireOnly, false);
    assert.equal(record?.start.sampleRate, 8000);
    assert.equal(record?.heard, true, 'the server heard the prompt');
  });
});
