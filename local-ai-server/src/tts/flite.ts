// Synthesis with Debian's flite. A process per sentence costs ~20 ms of start-up, which is cheaper than any
// warm alternative here and keeps a stuck synthesis from blocking other calls.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalAiConfig } from '../config.ts';
import { parseWav, type PcmAudio } from '../audio/wav.ts';
import { trimLeadIn } from './lead-in.ts';
import type { TtsEngine } from './types.ts';

/** Voices that speak at 16 kHz; kal (8 kHz diphone) is left out because it is far less intelligible. */
const WANTED = ['slt', 'rms', 'awb', 'kal16'];

export class FliteEngine implements TtsEngine {
  readonly name = 'flite';
  /** flite seeks in its output file, so it cannot write to a pipe; each sentence gets a private temp file. */
  private readonly dir = mkdtempSync(join(tmpdir(), 'local-ai-flite-'));
  private seq = 0;

  private constructor(
    private readonly binary: string,
    readonly voices: readonly string[],
    readonly defaultVoice: string,
  ) {}

  /** Lists the installed voices (`flite -lv`); rejects when flite is not installed. */
  static async create(cfg: LocalAiConfig['tts']['flite']): Promise<FliteEngine> {
    const listed = await new Promise<string>((resolve, reject) => {
      execFile(cfg.binary, ['-lv'], { timeout: 5000 }, (err, stdout) => {
        if (err) reject(new Error(`flite is not available (${(err as NodeJS.ErrnoException).code ?? err.message}); apt-get install flite`));
        else resolve(stdout);
      });
    });
    const available = listed.replace(/^.*?:/, '').trim().split(/\s+/);
    const voices = WANTED.filter((v) => available.includes(v));
    if (!voices.includes(cfg.voice)) {
      throw new Error(`flite voice "${cfg.voice}" is not installed (available: ${voices.join(', ') || 'none'})`);
    }
    return new FliteEngine(cfg.binary, voices, cfg.voice);
  }

  synthesize(text: string, voice: string, signal: AbortSignal): Promise<PcmAudio> {
    return new Promise((resolve, reject) => {
      if (!this.voices.includes(voice)) {
        reject(new Error(`unknown voice "${voice}"`));
        return;
      }
      const file = join(this.dir, `${(this.seq += 1)}.wav`);
      // Text goes in argv (no shell), so nothing in it is interpreted.
      const child = spawn(this.binary, ['-voice', voice, '-t', text, '-o', file], { stdio: 'ignore', signal });
      child.on('error', (err) => reject(signal.aborted ? new Error('synthesis cancelled') : err));
      child.on('close', (code) => {
        try {
          if (signal.aborted) throw new Error('synthesis cancelled');
          if (code !== 0) throw new Error(`flite exited with ${code}`);
          resolve(trimLeadIn(parseWav(readFileSync(file))));
        } catch (err) {
          reject(err as Error);
        } finally {
          try {
            unlinkSync(file);
          } catch {
            // not written (cancelled before flite created it)
          }
        }
      });
    });
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
