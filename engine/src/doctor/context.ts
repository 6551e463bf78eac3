import type { EngineConfig } from '@ai-agent/common';
import type { RunningEngine } from './running-engine.ts';

/** Everything a check reads: the engine's own configuration and environment, nothing else. */
export interface DoctorContext {
  config: EngineConfig;
  env: NodeJS.ProcessEnv;
  /** ARI_PASSWORD (or _FILE) as the engine reads it. */
  ariPassword: string | undefined;
  /** Per network request. */
  timeoutMs: number;
  /**
   * `doctor`: an operator's full check, engine running or not. `engine`: the engine's own start checks, run after
   * it listens: its listeners and its Stasis registration are its own, and key/bind problems already stopped it.
   */
  mode: 'doctor' | 'engine';
  /** An engine of this configuration answering on its control port (doctor mode). */
  engine: RunningEngine | null;
}
