// Playout against the media queue's cap: a long reply is fed into the engine's real RTP stream a window at a
// time, so nothing is dropped at the queue and a barge-in flush throws away seconds, not minutes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '@ai-agent/common';
import { Playout } from '../../src/pipeline/playout.ts';
import { RtpMediaServer } from '../../src/transport/rtp/rtp-server.ts';
import type { RtpMediaStream } from '../../src/transport/rtp/rtp-stream.ts';
import { RtpCaller, sleep } from './helpers/rtp-caller.ts';

const log = createLogger({ service: 'playout-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const RATE = 16000;

function tone(seconds: number): Int16Array {
  const pcm = new Int16Array(seconds * RATE);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE));
  return pcm;
}

describe('playout and the media queue', () => {
  let server: RtpMediaServer;
  let media: RtpMediaStream;
  let caller: RtpCaller;

  before(async () => {
    server = new RtpMediaServer({ log, portMin: 0, portMax: 0 });
    media = await server.allocate('playout-window', 'ulaw');
    caller = new RtpCaller();
    media.setRemote('127.0.0.1', await caller.bind());
    caller.start(media.port);
  });
  after(() => {
    media.close('test end');
    server.close();
    caller.close();
  });

  it('keeps at most a few seconds of a long reply in the media queue, feeds the rest as it plays, and cuts cleanly', async () => {
    const playout = new Playout(media, media.id);
    let drained = false;
    playout.begin(() => (drained = true));
    // 60 s of speech arriving at once, as a fast TTS delivers it: 30 sentences of 2 s.
    for (let i = 1; i <= 30; i++) {
      playout.sentence(`Sentence ${i}.`);
      playout.write({ pcm: tone(2), sampleRate: RATE });
      playout.sentenceDone();
    }
    playout.finish();
    assert.ok(media.queuedSamples <= 5 * RATE, `media queue holds ${media.queuedSamples / RATE} s`);
    const written = media.writtenSamples;
    await sleep(2600);
    assert.ok(media.writtenSamples > written, 'more of the reply was fed as the queue played down');
    assert.ok(media.queuedSamples > 0, 'the line never ran dry');
    assert.equal(media.counters.outboundOverflowSamples, 0);
    assert.equal(drained, false);
    const heard = playout.cut();
    assert.match(heard, /^Sentence 1\./, 'what was heard is still booked by position');
    assert.doesNotMatch(heard, /Sentence 3\b/);
    assert.equal(media.queuedSamples, 0);
    playout.dispose();
  });
});
