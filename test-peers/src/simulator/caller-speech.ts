// The caller's words, spoken by the local AI server's synthesiser (the product's own offline TTS) and kept as
// 8 kHz WAV files the Asterisk test peer plays into the call.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalAiClient } from '@ai-agent/local-ai-server/client';
import { MIX_RATE } from '../audio/formats.ts';
import { readWav, writeWav } from '../audio/wav.ts';

/** 20 ms of 8 kHz 16-bit audio, as a call would send it. */
const FRAME_BYTES = 320;

export class CallerSpeech {
  private constructor(private readonly client: LocalAiClient, private readonly dir: string) {}

  /** `token`: LOCAL_WS_AUTH_TOKEN, when the server has one. */
  static async connect(url: string, dir: string, token?: string): Promise<CallerSpeech> {
    try {
      return new CallerSpeech(await LocalAiClient.connect(url, { token }), dir);
    } catch (err) {
      throw new Error(`cannot reach the local AI server at ${url} to speak the caller's turns: ${(err as Error).message}`);
    }
  }

  get voices(): readonly string[] {
    return this.client.capabilities.voices;
  }

  /** A WAV file of `text` in `voice` (made once per text and voice). */
  async say(text: string, voice: string): Promise<string> {
    if (!this.voices.includes(voice)) throw new Error(`the local AI server has no voice '${voice}' (it has ${this.voices.join(', ')})`);
    const file = join(this.dir, `${createHash('sha256').update(`${voice}\n${text}`).digest('hex').slice(0, 16)}.wav`);
    if (existsSync(file)) return file;
    const chunks: Buffer[] = [];
    for await (const chunk of this.client.synthesize(text, { sampleRate: MIX_RATE, encoding: 'slin16le', voice })) chunks.push(Buffer.from(chunk));
    const bytes = Buffer.concat(chunks);
    const samples = new Int16Array(bytes.length >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(2 * i);
    writeWav(file, samples, MIX_RATE);
    return file;
  }

  /**
   * Has `streams` recognisers decode `text` at once and waits for them to finish. The local AI server loads its
   * recognisers ahead, but on a server that has just started they may still be loading: the first calls would
   * then measure a model load rather than the agent.
   */
  async warmRecognition(text: string, voice: string, streams: number): Promise<void> {
    const { samples } = readWav(await this.say(text, voice));
    const pcm = Buffer.alloc(samples.length * 2);
    for (let i = 0; i < samples.length; i++) pcm.writeInt16LE(samples[i]!, 2 * i);
    const decode = async (): Promise<void> => {
      const stt = await this.client.openStt({ encoding: 'slin16le', sampleRate: MIX_RATE, partials: false });
      stt.on('error', () => undefined); // reported by end(): nothing to judge here
      for (let i = 0; i < pcm.length; i += FRAME_BYTES) stt.write(pcm.subarray(i, i + FRAME_BYTES));
      await stt.end();
    };
    // Only warming: a recogniser that is busy or fails now is the calls' to report.
    await Promise.all(Array.from({ length: streams }, () => decode().catch(() => undefined)));
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
