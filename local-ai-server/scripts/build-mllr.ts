// Builds the narrowband channel transform (stt.pocketsphinx.narrowband.mllr) from Debian packages only:
// flite speaks the Asterisk prompt texts (minus the accuracy test set's), each utterance goes through the
// same chain as a telephone call (8 kHz, G.711 µ-law, the server's own 8 → 16 kHz input conversion, the
// helper's gain and noise fill), and sphinxtrain estimates a global MLLR mean transform for the Debian
// en-us model on it. The alignment pass starts from an analytic band-limitation transform (the 4–8 kHz
// mel filters zeroed), so the Baum-Welch alignments are not made by the unadapted model, which is lost on
// narrowband audio. Deterministic: same packages, same matrix (two builds on two machines were byte-identical).
// So the repository ships the matrix (models/, with what it was made from): an install whose inputs match takes
// it instead of spending a minute and a half of both cores on the build; any other install builds its own.
//
// node --import tsx local-ai-server/scripts/build-mllr.ts [--force] [--keep-work] [--ship]
// --ship also writes the result to models/ (run it after changing an input, and commit both files).
// Needs: flite, sphinxbase-utils (sphinx_fe), sphinxtrain (bw, mllr_solve), pocketsphinx-en-us,
// asterisk-core-sounds-en (reference texts). About 1 minute on 2 cores.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { mulawEncode } from '@ai-agent/common/audio';
import { Resampler } from '../src/audio/resampler.ts';
import { buildWav, parseWav } from '../src/audio/wav.ts';
import { loadLocalAiConfig, resolvePackagePath } from '../src/config.ts';
import { evaluationSet, referenceTexts, TEST_SET_SIZE } from '../src/eval/prompts.ts';
import { normalizeWords } from '../src/eval/wer.ts';
import { dictionaryWords } from '../src/stt/dictionary.ts';
import { AudioInput } from '../src/stt/input.ts';

const execFileAsync = promisify(execFile);
let logDir = '';
/** Runs a tool; its output goes to <work>/<tool>.log, kept when the build fails. */
async function run(file: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const { stdout, stderr } = await execFileAsync(file, args, { ...options, maxBuffer: 256 << 20 });
  if (logDir) writeFileSync(join(logDir, `${file.split('/').pop()}.log`), stdout + stderr, { flag: 'a' });
  return stdout + stderr;
}
const SPHINXTRAIN = '/usr/lib/sphinxtrain';
const VOICES = ['slt', 'rms', 'awb'];
/** 200 ms of µ-law digital silence around each utterance, as a call's quiet lead-in and tail. */
const PAD = Buffer.alloc(1600, 0xff);

const { values } = parseArgs({
  options: { force: { type: 'boolean', default: false }, 'keep-work': { type: 'boolean', default: false }, ship: { type: 'boolean', default: false } },
});
const cfg = loadLocalAiConfig().stt.pocketsphinx;
const out = resolvePackagePath(cfg.narrowband.mllr);
const modelDir = join(cfg.model_dir, 'en-us');
const dictFile = join(cfg.model_dir, 'cmudict-en-us.dict');

function step(message: string): void {
  console.log(`build-mllr: ${message}`);
}

/** Debian packages whose files make the matrix (voices, features, training tools, model, texts). */
const PACKAGES = ['flite', 'sphinxbase-utils', 'pocketsphinx', 'pocketsphinx-en-us', 'sphinxtrain', 'asterisk-core-sounds-en'];
/** This script and the code of the chain it models. */
const SOURCES = ['../scripts/build-mllr.ts', '../src/stt/input.ts', '../src/eval/prompts.ts', '../src/audio/resampler.ts'];

function packageVersions(): string {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Package}=${Version}\n', ...PACKAGES], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
}

function sourcesDigest(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(readFileSync(fileURLToPath(new URL(file, import.meta.url))));
  return hash.digest('hex');
}

// What the matrix was made from: the chain's settings, the packages and the code. A change to any makes the
// build redo it.
const inputs = JSON.stringify({
  fill: cfg.narrowband.fill, gain: cfg.narrowband.gain, model: modelDir, voices: VOICES, packages: packageVersions(), sources: sourcesDigest(),
});
const shipped = fileURLToPath(new URL('../models/mllr_8k_ulaw.txt', import.meta.url));
const made = (file: string): boolean => existsSync(file) && existsSync(`${file}.inputs`) && readFileSync(`${file}.inputs`, 'utf8') === inputs;

/** Puts `file` in place at `to` (written next to it and renamed: a reader never sees half a matrix), with its stamp. */
function place(file: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(file, `${to}.tmp`);
  renameSync(`${to}.tmp`, to);
  writeFileSync(`${to}.inputs`, inputs);
}

if (!values.force && made(out)) {
  step(`${out} is up to date (--force rebuilds it)`);
  process.exit(0);
}
if (!values.force && made(shipped)) {
  place(shipped, out);
  step(`${out}: the shipped matrix, made from the same packages and code (--force rebuilds it)`);
  process.exit(0);
}
const needs: Array<[string, string]> = [
  ['/usr/bin/flite', 'flite'],
  ['/usr/bin/sphinx_fe', 'sphinxbase-utils'],
  ['/usr/bin/pocketsphinx_mdef_convert', 'pocketsphinx'],
  [join(SPHINXTRAIN, 'bw'), 'sphinxtrain'],
  [join(SPHINXTRAIN, 'mllr_solve'), 'sphinxtrain'],
  [join(modelDir, 'sendump'), 'pocketsphinx-en-us'],
];
const missing = needs.filter(([file]) => !existsSync(file));
if (missing.length > 0) {
  console.error(`build-mllr: missing ${missing.map(([f, p]) => `${f} (apt-get install ${p})`).join(', ')}`);
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'ai-agent-mllr-'));
try {
  logDir = work;
  const model = join(work, 'model');
  mkdirSync(model);
  for (const f of ['means', 'variances', 'transition_matrices', 'feat.params', 'noisedict', 'mdef']) copyFileSync(join(modelDir, f), join(model, f));
  await run('pocketsphinx_mdef_convert', ['-text', join(model, 'mdef'), join(model, 'mdef.txt')]);
  writeFileSync(join(model, 'mixture_weights'), mixtureWeightsFromSendump(readFileSync(join(modelDir, 'sendump'))));
  writeFileSync(join(work, 'band.mllr'), bandLimitTransform());

  const count = await synthesizeCorpus(work);
  step(`features (sphinx_fe) for ${count} utterances`);
  await run('sphinx_fe', ['-argfile', join(model, 'feat.params'), '-samprate', '16000', '-c', 'adapt.fileids', '-di', 'wav', '-do', 'mfc', '-ei', 'wav', '-eo', 'mfc', '-mswav', 'yes'], { cwd: work });
  step('Baum-Welch statistics (bw)');
  const bw = await run(join(SPHINXTRAIN, 'bw'), [
    '-hmmdir', model, '-moddeffn', join(model, 'mdef.txt'), '-ts2cbfn', '.ptm.', '-feat', '1s_c_d_dd', '-svspec', '0-12/13-25/26-38',
    '-cmn', 'batch', '-agc', 'none', '-mllrmat', join(work, 'band.mllr'), '-dictfn', dictFile, '-fdictfn', join(model, 'noisedict'),
    '-ctlfn', 'adapt.fileids', '-lsnfn', 'adapt.transcription', '-cepdir', 'mfc', '-accumdir', '.',
  ], { cwd: work });
  // Audio the chain garbled does not align to its transcript; a transform from the few that do is noise.
  const unaligned = bw.split('Failed to align').length - 1;
  if (unaligned > count / 10) throw new Error(`bw could not align ${unaligned} of ${count} utterances (see bw.log)`);
  step(`solving the transform (mllr_solve), ${count - unaligned} utterances aligned`);
  const solved = join(work, 'mllr_matrix');
  await run(join(SPHINXTRAIN, 'mllr_solve'), ['-meanfn', join(model, 'means'), '-varfn', join(model, 'variances'), '-outmllrfn', solved, '-accumdir', '.'], { cwd: work });
  place(solved, out);
  step(`wrote ${out}`);
  if (values.ship) {
    place(solved, shipped);
    step(`wrote ${shipped}`);
  }
} catch (err) {
  const e = err as { stderr?: string; message: string };
  console.error(`build-mllr: failed (work files kept in ${work}): ${e.message}${e.stderr ? `\n${e.stderr.slice(-2000)}` : ''}`);
  process.exitCode = 1;
  values['keep-work'] = true;
} finally {
  if (!values['keep-work']) rmSync(work, { recursive: true, force: true });
}

/** Adaptation audio and transcripts in `work`: every voice × every usable reference text. */
async function synthesizeCorpus(dir: string): Promise<number> {
  const dictionary = dictionaryWords(dictFile);
  const held = new Set(evaluationSet(TEST_SET_SIZE).map((p) => p.text));
  const texts = [...new Set(referenceTexts().filter((t) => !held.has(t)))]
    .map(normalizeWords)
    .filter((w) => w.length > 0 && w.every((x) => dictionary.has(x)));
  const jobs = VOICES.flatMap((voice) => texts.map((w, i) => ({ id: `${voice}_${i}`, voice, words: w })));
  mkdirSync(join(dir, 'wav'));
  step(`synthesizing ${jobs.length} utterances (${texts.length} texts × flite ${VOICES.join(', ')})`);
  const { fill, gain } = cfg.narrowband;
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: availableParallelism() }, async () => {
      for (let i = next++; i < jobs.length; i = next++) {
        const j = jobs[i];
        const src = join(dir, `${j.id}.src.wav`);
        await run('flite', ['-voice', j.voice, '-t', j.words.join(' '), '-o', src]);
        // Each utterance gets its own noise seed, so the result does not depend on synthesis order.
        writeFileSync(join(dir, 'wav', `${j.id}.wav`), telephoneChain(readFileSync(src), gain, fill, Math.imul(i + 1, 2654435761)));
        rmSync(src);
        if (++done % 300 === 0) step(`  ${done}/${jobs.length}`);
      }
    }),
  );
  writeFileSync(join(dir, 'adapt.fileids'), jobs.map((j) => j.id).join('\n') + '\n');
  writeFileSync(join(dir, 'adapt.transcription'), jobs.map((j) => `<s> ${j.words.join(' ')} </s> (${j.id})`).join('\n') + '\n');
  return jobs.length;
}

/** A flite WAV as the recognizer sees it on a call: 8 kHz µ-law, the server's input conversion, gain and fill. */
function telephoneChain(wav: Uint8Array, gain: number, fill: number, seed: number): Uint8Array {
  const src = parseWav(wav);
  const down = Resampler.create(src.sampleRate, 8000);
  const narrow = down.process(src.samples);
  down.close();
  const mulaw = Buffer.concat([PAD, mulawEncode(narrow), PAD]);
  const input = AudioInput.create('mulaw', 8000);
  const pcm = new Int16Array(mulaw.length * 2 + 64);
  let o = 0;
  // The same LCG and scaling as native/ps_stream.c applies to live audio.
  let lcg = seed >>> 0;
  for (let k = 0; k < mulaw.length; k += 160) {
    for (const s of input.convert(mulaw.subarray(k, k + 160))!) {
      let v = s * gain;
      if (fill) {
        lcg = (Math.imul(lcg, 1664525) + 1013904223) >>> 0;
        v += ((lcg >>> 16) / 65535) * (2 * fill) - fill;
      }
      pcm[o++] = Math.max(-32768, Math.min(32767, Math.trunc(v)));
    }
  }
  input.close();
  return buildWav({ sampleRate: 16000, samples: pcm.subarray(0, o) });
}

/**
 * sphinxtrain's bw needs the model's mixture weights, which Debian ships only as the decoder's compressed
 * `sendump` (8-bit quantised -log probabilities, in 1.0001-base units shifted by 10 bits).
 */
function mixtureWeightsFromSendump(b: Buffer): Buffer {
  let at = 0;
  const i32 = () => {
    const v = b.readInt32LE(at);
    at += 4;
    return v;
  };
  let features = 3;
  let clusters = -1;
  for (let n = i32(); n !== 0; n = i32()) {
    const line = b.toString('latin1', at, at + n - 1);
    at += n;
    const m = /^(feature_count|cluster_count) (\d+)/.exec(line);
    if (m?.[1] === 'feature_count') features = Number(m[2]);
    if (m?.[1] === 'cluster_count') clusters = Number(m[2]);
  }
  if (clusters !== 0) throw new Error('sendump: clustered weights are not supported');
  const densities = i32();
  const senones = i32();
  if (b.length - at !== features * densities * senones) throw new Error('sendump: unexpected size');
  const unit = 1024 * Math.log(1.0001);
  const header = Buffer.from('s3\nversion 1.0\nendhdr\n', 'latin1');
  const body = Buffer.alloc(20 + senones * features * densities * 4);
  let o = 0;
  for (const v of [0x11223344, senones, features, densities, senones * features * densities]) {
    body.writeUInt32LE(v, o);
    o += 4;
  }
  const p = new Float64Array(densities);
  for (let s = 0; s < senones; s++) {
    for (let f = 0; f < features; f++) {
      let sum = 0;
      for (let d = 0; d < densities; d++) sum += p[d] = Math.exp(-b[at + (f * densities + d) * senones + s] * unit);
      for (let d = 0; d < densities; d++) {
        body.writeFloatLE(p[d] / sum, o);
        o += 4;
      }
    }
  }
  return Buffer.concat([header, body]);
}

/**
 * The transform band limitation makes to the model's cepstral means: back to the 25 mel filters (130–6800 Hz),
 * keep those below ~3.6 kHz (the 20th at half weight), forward again, with the model's lifter (22). The same
 * matrix for the static, delta and delta-delta streams; no bias, unit variances.
 */
function bandLimitTransform(): string {
  const filters = 25;
  const ceps = 13;
  const keep = (j: number) => (j < 19 ? 1 : j === 19 ? 0.5 : 0);
  const dct = (i: number, j: number) => (i === 0 ? Math.sqrt(1 / filters) : Math.sqrt(2 / filters) * Math.cos((Math.PI * i * (j + 0.5)) / filters));
  const lift = (i: number) => (i === 0 ? 1 : 1 + 11 * Math.sin((Math.PI * i) / 22));
  const rows: string[] = [];
  for (let r = 0; r < ceps; r++) {
    const row: string[] = [];
    for (let c = 0; c < ceps; c++) {
      let s = 0;
      for (let j = 0; j < filters; j++) s += dct(r, j) * keep(j) * dct(c, j);
      row.push(((lift(r) * s) / lift(c)).toFixed(6));
    }
    rows.push(row.join(' '));
  }
  const stream = [String(ceps), ...rows, Array(ceps).fill('0.0').join(' '), Array(ceps).fill('1.0').join(' ')];
  return ['1', '3', ...stream, ...stream, ...stream].join('\n') + '\n';
}
