// Word error rate of the pocketsphinx engine on the tuning and test sets (src/eval/prompts.ts), with the
// narrowband settings of config/local-ai.yaml or overrides of them: the tool for choosing settings on the
// tuning set only. Each prompt is one stream (as one caller utterance), fed as 8 kHz µ-law in 20 ms frames
// through the server's own input conversion, followed by 700 ms of silence.
//
// node --import tsx local-ai-server/scripts/stt-wer.ts [--set tuning|test|both] [--fill N] [--gain G]
//   [--mllr FILE] [--args="<options replacing stt.pocketsphinx.narrowband.decoder_args>"]
//   [--extra="<options added to both bands>"] [--show]   (option lists need the = form)
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { createLogger } from '@ai-agent/common';
import { loadLocalAiConfig } from '../src/config.ts';
import { mulawEncode } from '@ai-agent/common/audio';
import { parseWav } from '../src/audio/wav.ts';
import { evaluationSet, TEST_SET_SIZE, tuningSet, type Prompt } from '../src/eval/prompts.ts';
import { corpusWer } from '../src/eval/wer.ts';
import { AudioInput } from '../src/stt/input.ts';
import { PocketsphinxEngine } from '../src/stt/pocketsphinx.ts';

const { values } = parseArgs({
  options: {
    set: { type: 'string', default: 'both' },
    fill: { type: 'string' },
    gain: { type: 'string' },
    mllr: { type: 'string' },
    args: { type: 'string' },
    extra: { type: 'string' },
    show: { type: 'boolean', default: false },
  },
});
const split = (s: string): string[] => s.trim().split(/\s+/).filter(Boolean);

const cfg = loadLocalAiConfig();
const ps = cfg.stt.pocketsphinx;
if (values.fill !== undefined) ps.narrowband.fill = Number(values.fill);
if (values.gain !== undefined) ps.narrowband.gain = Number(values.gain);
if (values.mllr !== undefined) ps.narrowband.mllr = values.mllr;
if (values.args !== undefined) ps.narrowband.decoder_args = split(values.args);
if (values.extra !== undefined) ps.extra_args = split(values.extra);
ps.warm_spares = 2;

const engine = new PocketsphinxEngine(ps, createLogger({ service: 'stt-wer', level: 'warn' }));
engine.warmUp();

function recognise(p: Prompt): Promise<string> {
  const mulaw = Buffer.concat([mulawEncode(parseWav(readFileSync(p.file)).samples), Buffer.alloc(5600, 0xff)]);
  const input = AudioInput.create('mulaw', 8000);
  const finals: string[] = [];
  return new Promise((resolve, reject) => {
    const session = engine.open(
      { narrowband: true, partials: false },
      {
        speechStart() {},
        partial() {},
        final: (text) => finals.push(text),
        error: reject,
        closed() {
          input.close();
          resolve(finals.join(' '));
        },
      },
    );
    for (let i = 0; i < mulaw.length; i += 160) session.write(input.convert(mulaw.subarray(i, i + 160))!);
    session.end();
  });
}

async function measure(name: string, prompts: Prompt[]): Promise<void> {
  const pairs: Array<{ reference: string; hypothesis: string }> = [];
  const queue = [...prompts];
  await Promise.all(
    [0, 1].map(async () => {
      for (let p = queue.shift(); p; p = queue.shift()) pairs.push({ reference: p.text, hypothesis: await recognise(p) });
    }),
  );
  if (values.show) for (const { reference, hypothesis } of pairs) console.log(`  ref: ${reference}\n  hyp: ${hypothesis}`);
  const { wer, errors, words } = corpusWer(pairs);
  console.log(`${name} WER: ${(wer * 100).toFixed(1)} % (${errors}/${words} words, ${prompts.length} prompts)`);
}

try {
  if (values.set !== 'test') await measure('tuning', tuningSet());
  if (values.set !== 'tuning') await measure('test', evaluationSet(TEST_SET_SIZE));
} finally {
  engine.close();
}
