// Builds the configured engines and reports what this machine has. A missing engine is a logged reason and
// an `engine_unavailable` error for requests that need it, never a crash.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Logger } from '@ai-agent/common';
import type { LocalAiConfig } from './config.ts';
import type { Capabilities } from './protocol.ts';
import { DialogueResponder } from './llm/dialogue.ts';
import { LlamaResponder } from './llm/llama.ts';
import type { Responder } from './llm/types.ts';
import { PocketsphinxEngine } from './stt/pocketsphinx.ts';
import { SherpaSttEngine } from './stt/sherpa.ts';
import type { SttEngine } from './stt/types.ts';
import { FliteEngine } from './tts/flite.ts';
import { SherpaTtsEngine } from './tts/sherpa.ts';
import type { TtsEngine } from './tts/types.ts';

/** Server-wide count of open recognition streams, shared by all connections. */
export interface StreamSlots {
  active: number;
  readonly max: number;
}

export interface Engines {
  stt?: SttEngine;
  sttUnavailable?: string;
  sttSlots: StreamSlots;
  tts?: TtsEngine;
  ttsUnavailable?: string;
  responder: Responder;
  capabilities: Capabilities;
  close(): Promise<void>;
}

const require = createRequire(import.meta.url);

function packageInstalled(name: string): boolean {
  return (require.resolve.paths(name) ?? []).some((dir) => existsSync(join(dir, name, 'package.json')));
}

function commandExists(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$0"', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** What is installed, whether or not it is configured: logged at start so an operator sees the options. */
export function discoverInstalled(cfg: LocalAiConfig): Record<string, string> {
  const found = (ok: boolean, yes: string, no: string): string => (ok ? yes : no);
  return {
    pocketsphinx: PocketsphinxEngine.unavailableReason(cfg.stt.pocketsphinx) ?? 'ready',
    flite: found(commandExists(cfg.tts.flite.binary), 'installed', 'missing (apt-get install flite)'),
    festival: found(commandExists('festival'), 'installed (not used by default)', 'missing (optional)'),
    soundswallower: found(packageInstalled('soundswallower'), 'installed (not used)', 'not installed (optional)'),
    'sherpa-onnx-node': found(packageInstalled('sherpa-onnx-node'), 'installed', 'not installed (optional, for user models)'),
    'node-llama-cpp': found(
      packageInstalled('node-llama-cpp'),
      'installed',
      'not installed (optional: npm install -w local-ai-server node-llama-cpp)',
    ),
  };
}

async function buildStt(cfg: LocalAiConfig, log: Logger): Promise<SttEngine> {
  if (cfg.stt.engine === 'sherpa') return SherpaSttEngine.create(cfg.stt.sherpa, log);
  const reason = PocketsphinxEngine.unavailableReason(cfg.stt.pocketsphinx);
  if (reason) throw new Error(reason);
  const engine = new PocketsphinxEngine(cfg.stt.pocketsphinx, log.child({ engine: 'pocketsphinx' }));
  engine.warmUp();
  return engine;
}

async function buildTts(cfg: LocalAiConfig): Promise<TtsEngine> {
  return cfg.tts.engine === 'sherpa' ? SherpaTtsEngine.create(cfg.tts.sherpa) : FliteEngine.create(cfg.tts.flite);
}

export async function loadEngines(cfg: LocalAiConfig, log: Logger): Promise<Engines> {
  const engines: Partial<Engines> = {};
  try {
    engines.stt = await buildStt(cfg, log);
  } catch (err) {
    engines.sttUnavailable = `stt engine "${cfg.stt.engine}" unavailable: ${(err as Error).message}`;
    log.error(engines.sttUnavailable);
  }
  try {
    engines.tts = await buildTts(cfg);
  } catch (err) {
    engines.ttsUnavailable = `tts engine "${cfg.tts.engine}" unavailable: ${(err as Error).message}`;
    log.error(engines.ttsUnavailable);
  }
  let responder: Responder = new DialogueResponder(cfg.dialogue);
  if (cfg.llm.model_path) {
    try {
      responder = await LlamaResponder.create(cfg.llm);
    } catch (err) {
      log.error(`llm model unavailable, answering with the dialogue engine instead: ${(err as Error).message}`);
    }
  }
  const { stt, tts } = engines;
  return {
    ...engines,
    sttSlots: { active: 0, max: cfg.stt.max_streams },
    responder,
    capabilities: {
      stt: stt ? [stt.name] : [],
      tts: tts ? [tts.name] : [],
      voices: tts ? [...tts.voices] : [],
      llm: responder.name,
    },
    async close() {
      stt?.close();
      tts?.close();
      await responder.close();
    },
  };
}
