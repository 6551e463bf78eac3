// Real speech for the tests: Debian's Asterisk prompts (8 kHz WAV) and espeak-ng for specific lines.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav, soundPath } from '@ai-agent/test-peers';
import { Resampler } from '@ai-agent/common/audio';

/** An Asterisk prompt (e.g. 'vm-goodbye') at its native 8 kHz: what a PCMU caller sends. */
export function prompt8k(name: string): Int16Array {
  const path = soundPath(name);
  if (!path) throw new Error(`prompt ${name} not found (is asterisk-core-sounds-en-wav installed?)`);
  return readWav(path).samples;
}

/** A line spoken by espeak-ng, at 8 kHz. */
export function speak8k(text: string): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), 'speak-'));
  const file = join(dir, 'line.wav');
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', '170', '-w', file, text]);
  const { sampleRate, samples } = readWav(file);
  rmSync(dir, { recursive: true, force: true });
  const r = new Resampler(sampleRate, 8000);
  const out = r.process(samples).slice();
  r.destroy();
  return out;
}
