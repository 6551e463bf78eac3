import WebSocket from 'ws';

/** Where and as whom the doctor asks Asterisk: the engine's own ARI settings. */
export interface AriTarget {
  /** ARI base URL as configured (`ari.url`, without `/ari`). */
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
}

export interface AriAnswer {
  status: number;
  /** Parsed JSON, or null when the body is not JSON. */
  body: unknown;
}

/** Credentials go in the Authorization header only: never in a URL that an error message could repeat. */
function authorization(target: AriTarget): string {
  return `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
}

function ariUrl(target: AriTarget, path: string): string {
  return `${target.url.replace(/\/+$/, '')}/ari${path}`;
}

/** One ARI REST GET. Throws what fetch throws when nothing answers (see describeNetFailure). */
export async function ariGet(target: AriTarget, path: string): Promise<AriAnswer> {
  const res = await fetch(ariUrl(target, path), {
    headers: { authorization: authorization(target), accept: 'application/json' },
    signal: AbortSignal.timeout(target.timeoutMs),
  });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (e.g. Asterisk's HTML 404 when res_ari is not loaded): the status says enough.
  }
  return { status: res.status, body };
}

/** The message of an ARI error body (`{"message": ...}`), or ''. */
export function ariMessage(answer: AriAnswer): string {
  const message = (answer.body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}

export type SubscribeOutcome = { ok: true } | { ok: false; status: number } | { ok: false; error: unknown };

/**
 * Registers `app` on the events WebSocket the way the engine does, then lets it go at once: proves the name can
 * be subscribed with these credentials. Only called when no client holds the app, so no one is replaced.
 */
export function trySubscribe(target: AriTarget, app: string): Promise<SubscribeOutcome> {
  const url = new URL(ariUrl(target, '/events'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('app', app);
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: authorization(target) }, handshakeTimeout: target.timeoutMs });
    const done = (outcome: SubscribeOutcome): void => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(outcome);
    };
    ws.once('open', () => {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.close(1000);
      resolve({ ok: true });
    });
    ws.once('unexpected-response', (_req, res) => done({ ok: false, status: res.statusCode ?? 0 }));
    ws.once('error', (error) => done({ ok: false, error }));
  });
}
