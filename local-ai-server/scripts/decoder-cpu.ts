// CPU a recognition stream costs with a fresh helper process (model load + decode) and with a reused one
// (reset + decode), measured from /proc/<pid>/stat of the helpers. The same prompts are decoded both ways.
//
// node --import tsx local-ai-server/scripts/decoder-cpu.ts [streams=12]
import { readFileSync } from 'node:fs';
import { createLogger } from '@ai-agent/common';
import { loadLocalAiConfig, resolvePackagePath } from '../src/config.ts';
import { mulawEncode } from '../src/audio/mulaw.ts';
import { initResampler } from '../src/audio/resampler.ts';
import { parseWav } from '../src/audio/wav.ts';
import { tuningSet } from '../src/eval/prompts.ts';
import { AudioInput } from '../src/stt/input.ts';
import { helperArgs } from '../src/stt/pocketsphinx.ts';
import { PsDecoder } from '../src/stt/ps-decoder.ts';

const TICK_MS = 10; // USER_HZ is 100 on Linux
const streams = Number(process.argv[2] ?? 12);
const cfg = loadLocalAiConfig().stt.pocketsphinx;
const log = createLogger({ service: 'decoder-cpu', level: 'warn' });
const args = helperArgs(cfg, true);

await initResampler();
const audio = tuningSet()
  .slice(0, streams)
  .map((p) => {
    const input = AudioInput.create('mulaw', 8000);
    const mulaw = Buffer.concat([mulawEncode(parseWav(readFileSync(p.file)).samples), Buffer.alloc(5600, 0xff)]);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < mulaw.length; i += 160) frames.push(Buffer.from(input.convert(mulaw.subarray(i, i + 160))!.slice().buffer));
    input.close();
    return frames;
  });

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime + stime
}

async function decode(d: PsDecoder, frames: Uint8Array[]): Promise<void> {
  for (const f of frames) d.send('a', f);
  await new Promise<void>((resolve, reject) => d.reset(60_000, (ok) => (ok ? resolve() : reject(new Error('helper failed')))));
}

let fresh = 0;
for (const frames of audio) {
  const d = new PsDecoder(resolvePackagePath(cfg.helper), args, log);
  await decode(d, frames);
  fresh += cpuMs(d.pid!);
  d.kill();
}
const d = new PsDecoder(resolvePackagePath(cfg.helper), args, log);
await decode(d, audio[0]); // the load and a first stream, not counted
const before = cpuMs(d.pid!);
for (const frames of audio) await decode(d, frames);
const reused = cpuMs(d.pid!) - before;
d.kill();
const per = (ms: number): string => `${(ms / streams).toFixed(0)} ms`;
console.log(`CPU per stream: fresh process ${per(fresh)}, reused decoder ${per(reused)}, saved ${per(fresh - reused)} (${streams} streams)`);
