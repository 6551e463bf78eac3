import { ConfigError, readSecret, type EngineConfig, type ProviderInstanceConfig } from '@ai-agent/common';
import { LocalAiClient, LocalAiError } from '@ai-agent/local-ai-server/client';
import { PROVIDER_KEY_VARS, keyOptional } from '../providers/key-vars.ts';
import { fail, pass, warn, type CheckResult } from './check.ts';
import type { DoctorContext } from './context.ts';
import { describeNetFailure } from './net-failure.ts';

/** Names of the contexts whose pipeline or agent names `provider` (primary or fallback). */
function contextsUsing(config: EngineConfig, provider: string): string[] {
  return Object.entries(config.contexts)
    .filter(([, ctx]) => {
      const p = ctx.provider;
      const names = p.type === 'agent' ? [p.agent] : [p.stt, p.llm, p.tts, p.fallback.stt, p.fallback.llm, p.fallback.tts];
      return names.includes(provider);
    })
    .map(([name]) => name);
}

/**
 * Each configured provider: the local AI server answers its hello (and which engines it reports), and every
 * cloud provider's key is in the environment. A key is only ever "set" or "missing"; its value is never read
 * into a message. In engine mode only providers a context uses are checked: a missing key already stopped it.
 */
export async function providerChecks(ctx: DoctorContext): Promise<CheckResult[]> {
  const entries = Object.entries(ctx.config.providers);
  const checks = entries.map(async ([name, provider]): Promise<CheckResult | null> => {
    const usedBy = contextsUsing(ctx.config, name);
    if (provider.type === 'local_ai') {
      if (ctx.mode === 'engine' && usedBy.length === 0) return null;
      return localAiCheck(name, provider.url, usedBy, ctx);
    }
    if (ctx.mode === 'engine') return null;
    return keyCheck(name, provider, ctx.env);
  });
  return (await Promise.all(checks)).filter((r): r is CheckResult => r !== null);
}

function keyCheck(name: string, provider: ProviderInstanceConfig, env: NodeJS.ProcessEnv): CheckResult {
  const variable = PROVIDER_KEY_VARS[provider.type]!;
  const id = `provider.${name}.key`;
  const title = `providers.${name} key`;
  try {
    if (readSecret(variable, env)) return pass(id, title, `${variable} set (type ${provider.type})`);
    if (keyOptional(provider)) return pass(id, title, `no ${variable}: a loopback server, sent no key (type ${provider.type})`);
  } catch (err) {
    if (err instanceof ConfigError) return fail(id, title, `${err.key}: ${err.reason}`, `fix ${err.key} in the environment or .env`);
    throw err;
  }
  return fail(
    id,
    title,
    `${variable} missing: required by providers.${name} (type ${provider.type}); the engine refuses to start without it`,
    `set ${variable} (or ${variable}_FILE) in the environment or .env, or remove providers.${name}`,
  );
}

async function localAiCheck(name: string, url: string, usedBy: string[], ctx: DoctorContext): Promise<CheckResult> {
  const id = `provider.${name}.hello`;
  const title = `local AI server (providers.${name})`;
  let token: string | undefined;
  try {
    token = readSecret('LOCAL_WS_AUTH_TOKEN', ctx.env);
  } catch (err) {
    if (err instanceof ConfigError) return fail(id, title, `${err.key}: ${err.reason}`, `fix ${err.key} in the environment or .env`);
    throw err;
  }
  let client: LocalAiClient;
  try {
    client = await LocalAiClient.connect(url, { token, timeoutMs: ctx.timeoutMs, keepAliveMs: 0 });
  } catch (err) {
    const unused = usedBy.length === 0;
    const { detail, fix, transient } = localAiFailure(err, name, url, ctx.timeoutMs);
    if (unused) return warn(id, title, `${detail} (no context uses providers.${name})`, fix);
    return fail(id, title, `${detail}: calls of ${usedBy.map((c) => `contexts.${c}`).join(', ')} cannot be answered`, fix, transient);
  }
  const caps = client.capabilities;
  await client.close();
  const names = (list: string[]): string => list.join(', ') || 'none';
  return pass(id, title, `${url} answers: STT ${names(caps.stt)}; TTS ${names(caps.tts)} (voices ${names(caps.voices)}); dialogue ${caps.llm}`);
}

function localAiFailure(err: unknown, name: string, url: string, timeoutMs: number): { detail: string; fix: string; transient: boolean } {
  const start = `start it (npm start runs it unless DISABLE_SERVICES lists local-ai-server), or correct providers.${name}.url`;
  if (err instanceof LocalAiError) {
    if (err.code === 'refused' && /HTTP 401/.test(err.message)) {
      const fix = 'LOCAL_WS_AUTH_TOKEN must be the same for the engine and the local AI server';
      return { detail: `${url} refused the connection (HTTP 401)`, fix, transient: false };
    }
    if (err.code === 'timeout') return { detail: `${url}: ${err.message}`, fix: start, transient: true };
    return { detail: `${url}: ${err.message}`, fix: start, transient: err.code === 'closed' };
  }
  const failure = describeNetFailure(err, timeoutMs);
  return { detail: `${url}: ${failure.reason}`, fix: start, transient: failure.transient };
}
