import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from './admin-process.ts';
import { readEvents } from './http-client.ts';

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('admin UI auth, over real HTTP', () => {
  let admin: AdminProcess;

  before(async () => {
    admin = await startAdmin({ ADMIN_LOGIN_MAX_FAILURES: '3', ADMIN_LOCKOUT_SECONDS: '2', ADMIN_REFRESH_GRACE_SECONDS: '1' });
  });
  after(() => admin?.stop());

  it('first start: a one-time password on the terminal only, and nothing works until it is changed', async () => {
    assert.match(admin.firstPassword, /^[A-Za-z0-9_-]{24}$/);
    assert.ok(!admin.service.stdout().includes(admin.firstPassword), 'the log (stdout) never carries it');
    const client = admin.client();
    const login = await client.request('/api/auth/login', { body: { username: 'admin', password: admin.firstPassword } });
    assert.equal(login.status, 200);
    assert.deepEqual(login.json, { user: { name: 'admin', role: 'admin', mustChangePassword: true } });
    const cookies = ([] as string[]).concat(login.headers['set-cookie'] ?? []);
    assert.match(cookies.find((c) => c.startsWith('access='))!, /HttpOnly; SameSite=Strict/);
    assert.match(cookies.find((c) => c.startsWith('refresh='))!, /Path=\/api\/auth; HttpOnly; SameSite=Strict/);
    assert.doesNotMatch(cookies.find((c) => c.startsWith('csrf='))!, /HttpOnly/);

    assert.deepEqual((await client.get('/api/calls')).json, { error: 'password change required' });
    assert.equal((await client.get('/api/tokens')).status, 403);
    assert.equal((await client.get('/api/me')).json.user.mustChangePassword, true);
    const short = await client.send('POST', '/api/auth/password', { current: admin.firstPassword, next: 'too-short' });
    assert.equal(short.status, 400);
    const changed = await client.send('POST', '/api/auth/password', { current: admin.firstPassword, next: NEW_PASSWORD });
    assert.equal(changed.status, 204);
    assert.equal((await client.get('/api/me')).json.user.mustChangePassword, false);
    assert.equal((await client.get('/api/tokens')).status, 200);
    const old = await admin.client().request('/api/auth/login', { body: { username: 'admin', password: admin.firstPassword } });
    assert.equal(old.status, 401, 'the one-time password is gone');
  });

  it('failed logins get one generic answer; a locked pair stays locked only for its source, and not forever', async () => {
    await adminSession(admin);
    const attacker = admin.client({ from: '127.0.0.2' });
    const unknown = await attacker.request('/api/auth/login', { body: { username: 'nobody', password: 'whatever-password' } });
    const wrong = await attacker.request('/api/auth/login', { body: { username: 'admin', password: 'wrong-password-1' } });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.text, wrong.text);
    assert.deepEqual(wrong.json, { error: 'invalid credentials' });
    await attacker.request('/api/auth/login', { body: { username: 'admin', password: 'wrong-password-2' } });
    await attacker.request('/api/auth/login', { body: { username: 'admin', password: 'wrong-password-3' } });
    const locked = await attacker.request('/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } });
    assert.equal(locked.status, 401, 'the right password from the locked source is refused');
    assert.equal(locked.text, wrong.text, 'and the refusal looks like any other');
    const elsewhere = await admin.client({ from: '127.0.0.3' }).request('/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } });
    assert.equal(elsewhere.status, 200, 'the admin elsewhere is not locked out');
    await new Promise((r) => setTimeout(r, 2100));
    const later = await attacker.request('/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } });
    assert.equal(later.status, 200, 'the lock expires');
    const audit = await (await adminSession(admin)).get('/api/audit?limit=50');
    const failed = (audit.json as Array<{ action: string; source: string; detail: { locked: boolean } }>).filter((e) => e.action === 'login.failed');
    assert.ok(failed.some((e) => e.source === '127.0.0.2' && e.detail.locked));
  });

  it('a refresh rotates both tokens; replaying the old refresh token after the grace window revokes the whole family', async () => {
    const client = await adminSession(admin);
    const stolen = client.cookie('refresh')!;
    const access1 = client.cookie('access');
    assert.equal((await client.send('POST', '/api/auth/refresh')).status, 204);
    assert.notEqual(client.cookie('refresh'), stolen);
    assert.notEqual(client.cookie('access'), access1);
    assert.equal((await client.get('/api/me')).status, 200);
    await new Promise((r) => setTimeout(r, 1100)); // ADMIN_REFRESH_GRACE_SECONDS=1

    const thief = admin.client();
    thief.cookies.set('refresh', { value: stolen, path: '/api/auth' });
    thief.cookies.set('csrf', { value: 'x', path: '/' });
    assert.equal((await thief.send('POST', '/api/auth/refresh')).status, 401);
    assert.equal((await client.get('/api/me')).status, 401, 'the victim session is revoked too');
    assert.equal((await client.send('POST', '/api/auth/refresh')).status, 401, 'and its newest refresh token');
    const audit = (await (await adminSession(admin)).get('/api/audit?limit=20')).json as Array<{ action: string; actor: string }>;
    assert.ok(audit.some((e) => e.action === 'session.refresh-reused' && e.actor === 'admin'));
  });

  it('two tabs refreshing at the same moment both get the same new pair, and the session lives on', async () => {
    const tab1 = await adminSession(admin);
    const tab2 = admin.client();
    for (const [name, cookie] of tab1.cookies) tab2.cookies.set(name, { ...cookie });
    const old = tab1.cookie('refresh')!;
    const [a, b] = await Promise.all([tab1.send('POST', '/api/auth/refresh'), tab2.send('POST', '/api/auth/refresh')]);
    assert.deepEqual([a.status, b.status], [204, 204]);
    assert.notEqual(tab1.cookie('refresh'), old);
    assert.equal(tab2.cookie('refresh'), tab1.cookie('refresh'), 'one new refresh token for both tabs');
    assert.equal(tab2.cookie('access'), tab1.cookie('access'));
    assert.equal((await tab1.get('/api/me')).status, 200);
    assert.equal((await tab2.get('/api/me')).status, 200);
    // The pair both tabs hold keeps rotating; the old token, shown again after the window, is a replay.
    assert.equal((await tab2.send('POST', '/api/auth/refresh')).status, 204);
    assert.equal((await tab2.get('/api/me')).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const replay = admin.client();
    replay.cookies.set('refresh', { value: old, path: '/api/auth' });
    replay.cookies.set('csrf', { value: 'x', path: '/' });
    assert.equal((await replay.send('POST', '/api/auth/refresh')).status, 401);
    assert.equal((await tab2.get('/api/me')).status, 401, 'reuse after the window revokes the family');
  });

  it('refresh without the CSRF header is refused', async () => {
    const client = await adminSession(admin);
    assert.equal((await client.request('/api/auth/refresh', { method: 'POST' })).status, 403);
    assert.equal((await client.send('POST', '/api/auth/refresh')).status, 204);
  });

  it('cookie-authenticated writes need x-csrf-token equal to the csrf cookie', async () => {
    const client = await adminSession(admin);
    const body = { name: 'csrf-check', scopes: ['calls:read'] };
    assert.deepEqual((await client.request('/api/tokens', { body })).json, { error: 'forbidden' });
    assert.equal((await client.request('/api/tokens', { body, headers: { 'x-csrf-token': 'guessed' } })).status, 403);
    assert.equal((await client.request('/api/tokens', { body, csrf: true })).status, 201);
  });

  it('logout ends this session; logout-all ends every session of the user', async () => {
    const a = await adminSession(admin);
    const b = await adminSession(admin);
    assert.equal((await a.send('POST', '/api/auth/logout')).status, 204);
    assert.equal(a.cookie('access'), undefined, 'cookies cleared');
    const replay = admin.client();
    replay.cookies.set('access', { value: b.cookie('access')!, path: '/' });
    assert.equal((await b.get('/api/me')).status, 200, 'the other session lives');
    assert.equal((await b.send('POST', '/api/auth/logout-all')).status, 204);
    assert.equal((await replay.get('/api/me')).status, 401, 'a copy of the access token is dead too');
  });

  it('forged access tokens are refused: tampered, alg none, wrong key', async () => {
    const client = await adminSession(admin);
    const [header, payload, signature] = client.cookie('access')!.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const forged = [
      `${header}.${b64({ ...claims, sub: 'someone-else' })}.${signature}`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
      `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, exp: claims.exp })}.${signature}`,
      await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('a-different-secret-of-32-characters!!')),
      `${b64({ alg: 'HS512', typ: 'JWT' })}.${payload}.${signature}`,
    ];
    for (const token of forged) {
      const attacker = admin.client();
      attacker.cookies.set('access', { value: token, path: '/' });
      assert.equal((await attacker.get('/api/me')).status, 401, token);
    }
    assert.equal((await client.get('/api/me')).status, 200, 'the genuine token still works');
  });

  it('a foreign Host header (DNS rebinding) or a foreign Origin is refused', async () => {
    const client = await adminSession(admin);
    assert.equal((await client.get('/api/me', { headers: { host: 'evil.example' } })).status, 403);
    assert.equal((await client.get('/api/me', { headers: { host: `evil.example:${admin.port}` } })).status, 403);
    assert.equal((await client.get('/api/me', { headers: { host: `localhost:${admin.port}` } })).status, 200);
    assert.equal((await client.get('/api/me', { headers: { origin: 'http://evil.example' } })).status, 403);
    assert.equal((await client.get('/api/me', { headers: { origin: `http://127.0.0.1:${admin.port}` } })).status, 200);
  });

  it('errors are generic: unknown routes, bad JSON, oversize bodies', async () => {
    const client = await adminSession(admin);
    assert.deepEqual((await client.get('/api/nope')).json, { error: 'not found' });
    const bad = await client.send('POST', '/api/tokens', { name: 'x', scopes: ['no-such-scope'] });
    assert.deepEqual(bad.json, { error: 'bad request' });
    const malformed = await client.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: undefined });
    assert.deepEqual(malformed.json, { error: 'bad request' });
    const huge = await client.request('/api/auth/login', { body: { username: 'admin', password: 'x'.repeat(20_000) } });
    assert.deepEqual(huge.json, { error: 'payload too large' });
    const text = await client.request('/api/auth/login', { method: 'POST', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    for (const r of [bad, huge, text]) assert.doesNotMatch(r.text, /at |\.ts|stack/i);
  });
});

describe('access token expiry (behind TLS: ADMIN_COOKIE_SECURE=1)', () => {
  let admin: AdminProcess;
  before(async () => {
    admin = await startAdmin({ ADMIN_ACCESS_TTL_SECONDS: '2', ADMIN_COOKIE_SECURE: '1' });
  });
  after(() => admin?.stop());

  it('an expired access token is refused; the refresh token gets a new one', async () => {
    // The CLI sets a known password (no forced change), so the short-lived token is fresh when the wait starts.
    const reset = await admin.cli(['reset-password', 'admin', '--stdin'], `${NEW_PASSWORD}\n`);
    assert.equal(reset.code, 0, reset.stderr);
    const client = admin.client();
    const login = await client.request('/api/auth/login', { body: { username: 'admin', password: NEW_PASSWORD } });
    assert.equal(login.status, 200);
    for (const cookie of ([] as string[]).concat(login.headers['set-cookie'] ?? [])) assert.match(cookie, /; Secure/);
    const expired = client.cookie('access')!;
    const started = Date.now();
    const stream = readEvents(client, '/api/events', () => false, 8000);
    assert.equal((await client.get('/api/me')).status, 200);
    await new Promise((r) => setTimeout(r, 2200));
    const { status, events } = await stream;
    assert.equal(status, 200);
    assert.ok(events.some((e) => e.event === 'status'));
    assert.ok(Date.now() - started < 5000, 'the event stream ended with its access token');
    const attacker = admin.client();
    attacker.cookies.set('access', { value: expired, path: '/' });
    assert.equal((await attacker.get('/api/me')).status, 401);
    assert.equal((await client.send('POST', '/api/auth/refresh')).status, 204);
    assert.equal((await client.get('/api/me')).status, 200);
  });
});
