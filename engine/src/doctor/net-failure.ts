/** Why a connection attempt failed, in words for the operator, and whether the peer may just be starting. */
export interface NetFailure {
  reason: string;
  /** Refused, unreachable or silent: worth another try while services start side by side. */
  transient: boolean;
}

const REASONS: Record<string, NetFailure> = {
  ECONNREFUSED: { reason: 'connection refused (nothing listens there)', transient: true },
  ECONNRESET: { reason: 'connection reset', transient: true },
  EHOSTUNREACH: { reason: 'host unreachable', transient: true },
  ENETUNREACH: { reason: 'network unreachable', transient: true },
  ETIMEDOUT: { reason: 'connection timed out', transient: true },
  UND_ERR_CONNECT_TIMEOUT: { reason: 'connection timed out', transient: true },
  EAI_AGAIN: { reason: 'host name lookup failed (temporary)', transient: true },
  ENOTFOUND: { reason: 'host name not found', transient: false },
};

/** Classifies an error from fetch (undici: the code is on `cause`), ws or node:net. */
export function describeNetFailure(err: unknown, timeoutMs: number): NetFailure {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return { reason: `no answer within ${timeoutMs} ms`, transient: true };
  const code = e?.cause?.code ?? e?.code;
  if (code && REASONS[code]) return REASONS[code];
  if (code && /CERT|SSL|TLS/.test(code)) return { reason: `TLS failed (${code})`, transient: false };
  return { reason: e?.cause?.message ?? e?.message ?? String(err), transient: false };
}
