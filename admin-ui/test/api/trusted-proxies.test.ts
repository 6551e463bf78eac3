// Behind a reverse proxy every client arrives from the proxy's address. With the proxy named in
// ADMIN_TRUSTED_PROXIES, the login lockout, the rate limit and the audit log see the client the proxy names in
// X-Forwarded-For, so one client's failed logins lock out only that client; from anyone else the header means
// nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startService } from '@ai-agent/common/testing';
import { NEW_PASSWORD, adminSession, startAdmin, type AdminProcess } from './admin-process.ts';

const PROXY = '127.0.0.5';

describe('admin UI behind a trusted reverse proxy', () => {
  let admin: AdminProcess;

  before(async () => {
    admin = await startAdmin({ ADMIN_TRUSTED_PROXIES: `${PROXY}, 10.99.0.0/16`, ADMIN_LOGIN_MAX_FAILURES: '2' });
    await adminSession(admin);
  });
  after(() => admin?.stop());

  const login = (from: string, client: string | undefined, password: string) =>
    admin
      .client({ from, headers: client ? { 'x-forwarded-for': client } : {} })
      .request('/api/auth/login', { body: { username: 'admin', password } });

  it('locks out the client the proxy names, not every client behind the proxy', async () => {
    for (const attempt of [1, 2]) assert.equal((await login(PROXY, '198.51.100.7', `wrong-password-${attempt}`)).status, 401);
    assert.equal((await login(PROXY, '198.51.100.7', NEW_PASSWORD)).status, 401, 'the attacking client is locked');
    assert.equal((await login(PROXY, '198.51.100.8', NEW_PASSWORD)).status, 200, 'another client behind the proxy is not');

    const audit = await (await adminSession(admin)).get('/api/audit?limit=50');
    const sources = (audit.json as Array<{ action: string; source: string }>).filter((e) => e.action === 'login.failed').map((e) => e.source);
    // (The setup's first login, straight from 127.0.0.1, failed too.)
    assert.equal(sources.filter((s) => s === '198.51.100.7').length, 3, `audit sources: ${JSON.stringify(sources)}`);
    assert.ok(!sources.includes(PROXY), 'the proxy\'s own address is never the source');
  });

  it('ignores X-Forwarded-For from a caller that is not a trusted proxy', async () => {
    const direct = '127.0.0.6';
    for (const attempt of [1, 2]) assert.equal((await login(direct, `203.0.113.${attempt}`, `wrong-password-${attempt}`)).status, 401);
    assert.equal((await login(direct, '203.0.113.50', NEW_PASSWORD)).status, 401, 'a forged header does not escape the lock');
  });

  it('refuses to start on a value that is not an address or CIDR, naming the variable', async () => {
    const bad = startService('admin-ui/src/server/main.ts', { ...admin.env, ADMIN_PORT: '0', ADMIN_TRUSTED_PROXIES: '127.0.0.1, proxy.example' });
    assert.notEqual(await bad.exited, 0);
    assert.match(bad.stderr() + bad.stdout(), /ADMIN_TRUSTED_PROXIES.*"proxy\.example" is not an IP address or CIDR/);
  });
});
