import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '@ai-agent/common/testing';
import { adminSession, startAdmin, type AdminProcess } from './admin-process.ts';
import type { Client } from './http-client.ts';

/** Every API route, with the scope it needs (null: any signed-in principal). */
const ROUTES: Array<[method: string, path: string, scope: string | null]> = [
  ['GET', '/api/me', null],
  ['POST', '/api/auth/password', null],
  ['POST', '/api/auth/logout', null],
  ['POST', '/api/auth/logout-all', null],
  ['GET', '/api/engine/status', 'calls:read'],
  ['GET', '/api/calls', 'calls:read'],
  ['GET', '/api/calls/abc', 'calls:read'],
  ['POST', '/api/calls/abc/hangup', 'calls:write'],
  ['GET', '/api/events', 'calls:read'],
  ['GET', '/api/config', 'config:read'],
  ['PUT', '/api/config', 'config:write'],
  ['GET', '/api/config/forms', 'config:read'],
  ['PUT', '/api/config/forms', 'config:write'],
  ['GET', '/api/secrets', 'config:read'],
  ['PUT', '/api/secrets/OPENAI_API_KEY', 'config:write'],
  ['GET', '/api/mcp/servers', 'config:read'],
  // Makes the engine start a process: reading the config is not enough.
  ['POST', '/api/mcp/servers/orders/test', 'config:write'],
  ['GET', '/api/tokens', 'admin'],
  ['POST', '/api/tokens', 'admin'],
  ['DELETE', '/api/tokens/0123456789abcdef', 'admin'],
  ['GET', '/api/users', 'admin'],
  ['POST', '/api/users', 'admin'],
  ['DELETE', '/api/users/someone', 'admin'],
  ['GET', '/api/audit', 'admin'],
  ['GET', '/api/containers', 'containers:read'],
  ['GET', '/api/containers/0123456789ab/logs', 'logs:read'],
];

describe('admin UI API routes, over real HTTP', () => {
  let admin: AdminProcess;
  let session: Client;

  before(async () => {
    admin = await startAdmin();
    session = await adminSession(admin);
  });
  after(() => admin?.stop());

  it('every route refuses a caller without credentials (401) or with a made-up token', async () => {
    const anonymous = admin.client();
    for (const [method, path] of ROUTES) {
      const r = await anonymous.request(path, { method, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
      assert.equal(r.status, 401, `${method} ${path}`);
      assert.deepEqual(r.json, { error: 'unauthorized' });
      const forged = await anonymous.request(path, { method, headers: { authorization: `Bearer aat_${'A'.repeat(43)}` } });
      assert.equal(forged.status, 401, `${method} ${path} with an unknown token`);
    }
  });

  it('a token lacking the scope gets 403 on every scoped route', async () => {
    for (const scope of ['calls:read', 'config:read', 'containers:read']) {
      const created = await session.send('POST', '/api/tokens', { name: `only-${scope}`, scopes: [scope] });
      assert.equal(created.status, 201);
      const script = admin.client();
      for (const [method, path, needed] of ROUTES) {
        if (needed === null || needed === scope) continue;
        const r = await script.request(path, { method, headers: { authorization: `Bearer ${created.json.token}` } });
        assert.equal(r.status, 403, `${method} ${path} with ${scope}`);
        assert.deepEqual(r.json, { error: 'forbidden' });
      }
    }
  });

  it('with the engine down, engine routes say so and the rest works', async () => {
    const status = await session.get('/api/engine/status');
    assert.deepEqual(status.json.ready, { status: 'unreachable', checks: {} });
    assert.deepEqual((await session.get('/api/calls')).json, { error: 'engine unavailable' });
    assert.equal((await session.get('/api/calls')).status, 503);
    const config = await session.get('/api/config');
    assert.equal(config.status, 200);
    assert.equal(config.json.state, null);
    assert.match(config.json.yaml, /^# AI voice agent engine configuration/);
  });

  it('serves the built web app under the strict CSP, and index.html for client-side routes', { skip: !existsSync(join(REPO_ROOT, 'admin-ui/dist/web/index.html')) && 'web app not built' }, async () => {
    const anonymous = admin.client();
    const index = await anonymous.get('/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    assert.doesNotMatch(index.text, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
    const csp = String(index.headers['content-security-policy']);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    const route = await anonymous.get('/calls/some-call-id');
    assert.equal(route.status, 200);
    assert.equal(route.text, index.text);
    const script = /src="([^"]+\.js)"/.exec(index.text)?.[1];
    if (script) assert.match(String((await anonymous.get(script)).headers['content-type']), /javascript/);
    assert.deepEqual((await anonymous.get('/api/no-such-route')).json, { error: 'not found' });
  });

  it('API tokens: shown once, listed with their last use, revocable, audited; no CSRF needed', async () => {
    const created = await session.send('POST', '/api/tokens', { name: 'deploy script', scopes: ['config:read'] });
    assert.equal(created.status, 201);
    assert.match(created.json.token, /^aat_[A-Za-z0-9_-]{43}$/);
    const script = admin.client();
    const auth = { authorization: `Bearer ${created.json.token}` };
    const secrets = await script.get('/api/secrets', { headers: auth });
    assert.equal(secrets.status, 200);
    const listed = (await session.get('/api/tokens')).json as Array<Record<string, unknown>>;
    const entry = listed.find((t) => t.id === created.json.id)!;
    assert.deepEqual(Object.keys(entry).sort(), ['createdAt', 'id', 'lastUsedAt', 'name', 'scopes']);
    assert.ok(entry.lastUsedAt, 'last use recorded');
    assert.ok(!JSON.stringify(listed).includes(created.json.token), 'the token is never shown again');

    const writer = await session.send('POST', '/api/tokens', { name: 'config writer', scopes: ['config:write'] });
    const put = await script.request('/api/secrets/DEEPGRAM_API_KEY', { method: 'PUT', body: { value: 'dg-value-0123' }, headers: { authorization: `Bearer ${writer.json.token}` } });
    assert.equal(put.status, 204, 'a Bearer token needs no CSRF header');

    assert.equal((await session.send('DELETE', `/api/tokens/${created.json.id}`)).status, 204);
    assert.equal((await script.get('/api/secrets', { headers: auth })).status, 401);
    const audit = (await session.get('/api/audit')).json as Array<{ action: string; actor: string; detail: Record<string, unknown> }>;
    assert.ok(audit.some((e) => e.action === 'token.revoke' && e.detail.id === created.json.id && e.actor === 'admin'));
    assert.ok(audit.some((e) => e.action === 'secret.set' && e.actor === 'token:config writer' && e.detail.name === 'DEEPGRAM_API_KEY'));
  });

  it('users: a new user gets a one-time password and the viewer role grants no writes', async () => {
    const created = await session.send('POST', '/api/users', { name: 'operator', role: 'viewer' });
    assert.equal(created.status, 201);
    assert.equal((await session.send('POST', '/api/users', { name: 'operator', role: 'viewer' })).status, 409);
    const viewer = admin.client();
    assert.equal((await viewer.request('/api/auth/login', { body: { username: 'operator', password: created.json.password } })).json.user.mustChangePassword, true);
    assert.equal((await viewer.send('POST', '/api/auth/password', { current: created.json.password, next: 'operator password 1' })).status, 204);
    assert.deepEqual((await viewer.get('/api/me')).json.scopes, ['calls:read', 'config:read', 'containers:read', 'logs:read']);
    assert.equal((await viewer.get('/api/users')).status, 403);
    assert.equal((await viewer.send('PUT', '/api/config', { yaml: 'x: 1' })).status, 403);
    assert.ok(((await session.get('/api/users')).json as Array<{ name: string }>).some((u) => u.name === 'operator'));
    assert.equal((await session.send('DELETE', '/api/users/admin')).status, 409, 'not yourself');
    assert.equal((await session.send('DELETE', '/api/users/operator')).status, 204);
    assert.equal((await viewer.get('/api/me')).status, 401, 'a deleted user is out at once');
  });

  it('the audit log is append-only and pages newest first', async () => {
    const page = (await session.get('/api/audit?limit=2')).json as Array<{ id: number; at: string; actor: string; action: string; source: string }>;
    assert.equal(page.length, 2);
    assert.ok(page[0]!.id > page[1]!.id);
    assert.deepEqual(Object.keys(page[0]!).sort(), ['action', 'actor', 'at', 'detail', 'id', 'source']);
    const next = (await session.get(`/api/audit?limit=2&before=${page[1]!.id}`)).json as Array<{ id: number }>;
    assert.ok(next[0]!.id < page[1]!.id);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(admin.dbPath);
    try {
      assert.throws(() => db.prepare('DELETE FROM audit').run(), /append-only/);
      assert.throws(() => db.prepare("UPDATE audit SET actor = 'someone'").run(), /append-only/);
    } finally {
      db.close();
    }
  });

  it('the CLI: create-token works against the running server, revoke-token ends it, rotate-jwt-secret ends every session', async () => {
    const bad = await admin.cli(['create-token', '--name', 'x', '--scopes', 'calls:read,root']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown: root/);
    const created = await admin.cli(['create-token', '--name', 'nightly', '--scopes', 'calls:read,config:read']);
    assert.equal(created.code, 0, created.stderr);
    const token = /token: (\S+)/.exec(created.stdout)![1]!;
    const id = /id: (\S+)/.exec(created.stdout)![1]!;
    const script = admin.client();
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await script.get('/api/secrets', { headers: auth })).status, 200);
    assert.match((await admin.cli(['list-tokens'])).stdout, new RegExp(`${id}  nightly  calls:read,config:read  last used 20`));
    assert.equal((await admin.cli(['revoke-token', id])).code, 0);
    assert.equal((await script.get('/api/secrets', { headers: auth })).status, 401);

    const hashed = await admin.cli(['hash-password'], 'a long enough password\n');
    assert.match(hashed.stdout, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);

    const other = await adminSession(admin);
    assert.equal((await admin.cli(['rotate-jwt-secret'])).code, 0);
    assert.equal((await other.get('/api/me')).status, 401, 'the access token is dead');
    assert.equal((await other.send('POST', '/api/auth/refresh')).status, 401, 'so is the refresh token');
    session = await adminSession(admin);
    const audit = (await session.get('/api/audit')).json as Array<{ action: string; source: string }>;
    assert.ok(audit.some((e) => e.action === 'sessions.rotate-key' && e.source === 'cli'));
  });
});
