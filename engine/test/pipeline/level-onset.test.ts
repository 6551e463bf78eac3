import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LevelOnset } from '../../src/pipeline/level-onset.ts';

/** Feeds levels (mean |sample| per 20 ms frame); returns the indices where a rise began. */
function rises(onset: LevelOnset, levels: number[], aboveEcho = true): number[] {
  return levels.flatMap((level, i) => (onset.frame(level, aboveEcho) ? [i] : []));
}

describe('level onset (caller sound on the frame that carries it)', () => {
  test('speech after silence rises on its first loud frame and stays sounding through it', () => {
    const onset = new LevelOnset();
    assert.deepEqual(rises(onset, [0, 0, 0, 600, 1800, 5000, 4000]), [3]);
    assert.equal(onset.sounding, true);
    assert.deepEqual(rises(onset, [0, 0]), []);
    assert.equal(onset.sounding, false);
  });

  test('quiet line noise never rises; speech over it does once it stands 12 dB above it', () => {
    const onset = new LevelOnset();
    assert.deepEqual(rises(onset, Array(100).fill(60)), []);
    // A noisy line's background (mean |sample| 400, about −37 dBFS): a frame must reach 4 × that.
    const noisy = new LevelOnset();
    assert.deepEqual(rises(noisy, [...Array(500).fill(400), 600, 1200, 2000]), [0, 501]);
  });

  test('steady noise rises once, then not again while it lasts, and holds a pause for 600 ms at most', () => {
    const onset = new LevelOnset();
    assert.deepEqual(rises(onset, Array(30).fill(800)), [0]);
    assert.equal(onset.holding, true);
    assert.deepEqual(rises(onset, Array(170).fill(800)), []);
    assert.equal(onset.holding, false);
  });

  test('speech, dipping between syllables, holds a pause as long as it goes on', () => {
    const onset = new LevelOnset();
    const syllable = [900, 2500, 3000, 2000, 700, 60];
    for (let i = 0; i < 20; i++) {
      rises(onset, syllable.slice(0, 5));
      assert.equal(onset.holding, true);
      rises(onset, syllable.slice(5));
    }
  });

  test('sound that is only the agent’s echo never counts', () => {
    const onset = new LevelOnset();
    assert.deepEqual(rises(onset, [0, 3000, 3000, 3000], false), []);
    assert.equal(onset.sounding, false);
    // The caller rising above the echo is a rise at that frame.
    assert.equal(onset.frame(6000, true), true);
  });
});
