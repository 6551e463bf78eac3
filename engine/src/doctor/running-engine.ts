import { isIPv4 } from 'node:net';
/** An engine of this configuration already running: its ports and its Stasis app are its own, not a conflict. */
export interface RunningEngine {
  origin: string;
  /** Its /ready does not wait for 'ari': it holds the Stasis app itself. */
  ariConnected: boolean;
}

/** The address to reach a listener bound to `host` from this machine. */
export function localAddressOf(host: string): string {
  // A wildcard bind (every IPv4 or every IPv6 address) answers on the loopback of its family.
  if (isIPv4(host) && host.split('.').every((octet) => Number(octet) === 0)) return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/**
 * Asks the control port for /ready. Only the engine answers `{ready, waiting?}` there; anything else (nothing
 * listening, another program) is "not running".
 */
export async function probeRunningEngine(bindHost: string, port: number, timeoutMs: number): Promise<RunningEngine | null> {
  if (port === 0) return null;
  const address = localAddressOf(bindHost);
  const origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  try {
    const res = await fetch(`${origin}/ready`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { ready?: unknown; waiting?: unknown };
    if (typeof body.ready !== 'boolean') return null;
    const waiting = Array.isArray(body.waiting) ? body.waiting : [];
    return { origin, ariConnected: !waiting.includes('ari') };
  } catch {
    return null;
  }
}
