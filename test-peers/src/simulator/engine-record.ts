// The engine's own record of a simulated call (GET /calls on its control API): what it heard, what it said,
// the tools it called and how the call ended. The simulator judges the agent by it.
import type { EngineRecord } from '@ai-agent/common/simulation';

export interface EngineApi {
  /** http://127.0.0.1:<port> of the engine's control API. */
  url: string;
  /** HEALTH_API_TOKEN, when set (loopback callers are trusted unless HEALTH_TRUST_LOOPBACK=false). */
  token?: string;
}

const POLL_MS = 200;

async function getJson<T>(api: EngineApi, path: string): Promise<T> {
  const res = await fetch(`${api.url}${path}`, { headers: api.token ? { authorization: `Bearer ${api.token}` } : {} });
  if (res.status === 401 || res.status === 403) {
    throw new Error(`the engine refused to show its call records (HTTP ${res.status}): set HEALTH_API_TOKEN as the engine has it`);
  }
  if (!res.ok) throw new Error(`the engine answered GET ${path} with HTTP ${res.status}`);
  return (await res.json()) as T;
}

/**
 * The record of the call whose caller channel is `channelId`, once the engine has finished it (records are
 * complete when the call's teardown has ended); null when none appears within `timeoutMs`.
 */
export async function finishedRecord(api: EngineApi, channelId: string, timeoutMs = 15_000): Promise<EngineRecord | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { recent } = await getJson<{ recent: Array<{ id: string; channelId?: string; outcome?: string }> }>(api, '/calls?limit=50');
    const call = recent.find((c) => c.channelId === channelId && c.outcome);
    if (call) return (await getJson<{ record: EngineRecord }>(api, `/calls/${encodeURIComponent(call.id)}`)).record;
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
