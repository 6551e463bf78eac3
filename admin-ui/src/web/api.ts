// The one way the page talks to the admin server: same-origin fetch with the session cookies, the CSRF header
// on every write, one silent refresh on a 401, and a signal to the app when it must show login or the
// password page instead.

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: { error?: string; key?: string; reason?: string }) {
    super(body.error ?? `request failed (${status})`);
    this.name = 'ApiError';
  }
}

export type AuthNeed = 'login' | 'password';
type AuthListener = (need: AuthNeed) => void;

const listeners = new Set<AuthListener>();
/** Access tokens live 15 minutes; refreshing every 10 keeps a page open for a shift signed in. */
const REFRESH_EVERY_MS = 10 * 60 * 1000;
let refreshing: Promise<boolean> | null = null;
let refreshTimer: number | undefined;

export function onAuthNeeded(listener: AuthListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function authNeeded(need: AuthNeed): void {
  if (need === 'login') stopRefreshing();
  for (const listener of listeners) listener(need);
}

function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === 'csrf') return decodeURIComponent(value.join('='));
  }
  return '';
}

function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
}

/** Rotates the session once, however many requests asked at the same moment. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= send('POST', '/api/auth/refresh')
    .then((res) => res.status === 204)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

export function startRefreshing(): void {
  stopRefreshing();
  refreshTimer = window.setInterval(() => {
    void refreshSession().then((ok) => {
      if (!ok) authNeeded('login');
    });
  }, REFRESH_EVERY_MS);
}

export function stopRefreshing(): void {
  window.clearInterval(refreshTimer);
  refreshTimer = undefined;
}

async function readBody(res: Response): Promise<Record<string, unknown>> {
  const text = await res.text();
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { error: text.slice(0, 200) };
  }
}

/**
 * Sends one API request and returns its JSON body (undefined for 204). Throws ApiError for any other
 * status; a 401 that a refresh cannot cure, and a 403 asking for a password change, also tell the app.
 */
export async function api<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const isAuthCall = path.startsWith('/api/auth/login') || path.startsWith('/api/auth/refresh');
  let res = await send(method, path, body);
  let parsed = await readBody(res);
  // A wrong password (login, password change) is a 401 too, but the session is fine: no refresh for it.
  if (res.status === 401 && !isAuthCall && parsed.error !== 'invalid credentials' && (await refreshSession())) {
    res = await send(method, path, body);
    parsed = await readBody(res);
  }
  if (res.ok) return (res.status === 204 ? undefined : parsed) as T;
  if (res.status === 401 && !isAuthCall && parsed.error !== 'invalid credentials') authNeeded('login');
  if (res.status === 403 && parsed.error === 'password change required') authNeeded('password');
  throw new ApiError(res.status, parsed as ApiError['body']);
}

/** What to tell the operator about a failed request: the server's key and reason when it gave them. */
export function problemText(err: unknown): string {
  if (err instanceof ApiError) {
    const { error, key, reason } = err.body;
    if (key) return `${key}: ${reason ?? error ?? 'rejected'}`;
    if (reason) return reason;
    return error ?? err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
