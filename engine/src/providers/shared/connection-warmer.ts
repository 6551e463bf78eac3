// Warm start for the HTTP providers: a call's first reply should not pay DNS, TCP and TLS to the vendor.
// Both vendor SDKs send through the global fetch, whose pool keeps a connection per origin open between
// requests (a few seconds: the server's keep-alive hint, else 4 s), so one small request just before the
// real one leaves a connection ready for it.

/** One warm request per origin at most this often: stages on one host (an OpenAI LLM and TTS) share it. */
const MIN_INTERVAL_MS = 1000;

const lastWarmAt = new Map<string, number>();

/**
 * Sends a GET without credentials to `baseUrl` (its status does not matter: a 404 leaves the connection open
 * all the same) and reads the short answer. Not HEAD: some servers (Node's own) close the connection after
 * answering one. Never throws; a failure here is the real request's to report.
 */
export function warmConnection(baseUrl: string, timeoutMs: number): void {
  let origin: string;
  try {
    origin = new URL(baseUrl).origin;
  } catch {
    return;
  }
  const now = performance.now();
  const last = lastWarmAt.get(origin);
  if (last !== undefined && now - last < MIN_INTERVAL_MS) return;
  lastWarmAt.set(origin, now);
  fetch(baseUrl, { method: 'GET', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    // Read to its end: cancelling the body instead would make fetch close the connection.
    .then((res) => res.arrayBuffer())
    .catch(() => undefined);
}
