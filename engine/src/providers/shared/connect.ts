// What both agent adapters do while a session opens: bound the wait, honour the call's abort, and turn a
// vendor's refusal into an error that says what to fix (never echoing a key or a URL with one).

/**
 * Waits for `ready` at most `timeoutMs` (one timer per connect, not per frame); on timeout or abort calls
 * `abandon` (which closes the half-open session) and rejects.
 */
export async function withConnectDeadline(ready: Promise<void>, timeoutMs: number, signal: AbortSignal, abandon: () => void, label: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no session within ${timeoutMs} ms`)), timeoutMs);
    onAbort = () => reject(new Error(`${label}: connect aborted`));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([ready, stop]);
  } catch (err) {
    abandon();
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** A vendor failure as one clear error; an HTTP 401/403 on the upgrade names the env var holding the key. */
export function connectError(label: string, keyVar: string, err: Error): Error {
  const status = /\b(40[13])\b/.exec(err.message)?.[1];
  if (status) return new Error(`${label} refused the API key (HTTP ${status}): check ${keyVar}`);
  return new Error(`${label}: ${err.message}`);
}
