import { assessBind } from '@ai-agent/common';
import { advertiseChecks } from './advertise-checks.ts';
import { ariChecks } from './ari-checks.ts';
import { pass, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';
import { dataCheck } from './data-checks.ts';
import { formatChecks } from './format-checks.ts';
import { listenerChecks } from './listener-checks.ts';
import { providerChecks } from './provider-checks.ts';
import { localAddressOf, probeRunningEngine } from './running-engine.ts';

export type DoctorInput = Omit<DoctorContext, 'engine'>;

/**
 * Every check for the configuration, independent groups side by side, results in a fixed order. Doctor mode
 * first asks whether an engine of this configuration already runs (then its ports and Stasis app are its own);
 * engine mode leaves out what the starting engine has settled itself (binding, keys, its app registration).
 */
export async function runChecks(input: DoctorInput): Promise<CheckResult[]> {
  const { config, env, timeoutMs, mode } = input;
  const healthHost = assessBind('health', env).host ?? '127.0.0.1';
  const engine = mode === 'doctor' ? await probeRunningEngine(healthHost, config.control.port, timeoutMs) : null;
  const ctx: DoctorContext = { ...input, engine };
  const groups = await Promise.all([
    ariChecks(ctx),
    mode === 'doctor' ? listenerChecks(ctx) : Promise.resolve([]),
    advertiseChecks(ctx),
    Promise.resolve(formatChecks(ctx)),
    providerChecks(ctx),
    Promise.resolve([dataCheck(ctx)]),
  ]);
  const head: CheckResult[] = [];
  if (mode === 'doctor') {
    const at = `${localAddressOf(healthHost)}:${config.control.port}`;
    head.push(
      pass(
        'engine.running',
        'engine',
        engine
          ? `running (${engine.origin}), ${engine.ariConnected ? 'connected to ARI' : 'not connected to ARI'}`
          : `not running on ${at}: its listeners must be free to bind`,
      ),
    );
  }
  return [...head, ...groups.flat()];
}
