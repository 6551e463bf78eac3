import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '@ai-agent/common';
import { startService } from '@ai-agent/common/testing';
import { loadSettings } from '../../src/server/settings.ts';
import { JWT_SECRET, startAdmin } from './admin-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'admin-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the admin UI with exactly `env` and expects it to refuse: exit 2 and one line naming the setting. */
async function refusal(env: Record<string, string>): Promise<string> {
  const service = startService('admin-ui/src/server/main.ts', { ADMIN_PORT: '0', ADMIN_DB_PATH: join(dir, 'a.sqlite'), ...env });
  assert.equal(await service.exited, 2, service.stdout());
  return service.stderr();
}

describe('admin UI start-up policy', () => {
  it('refuses to listen beyond loopback without JWT_SECRET: exit 2, one line naming it', async () => {
    assert.match(await refusal({ ADMIN_BIND_HOST: '0.0.0.0' }), /refusing to start: .*JWT_SECRET/);
  });

  it('settings: a short JWT_SECRET, ADMIN_AUTH=none off loopback and bad values are refused, naming the key, never a secret', () => {
    const refused = (env: Record<string, string>, key: string, reason: RegExp): void => {
      assert.throws(() => loadSettings({ ADMIN_PORT: '0', ...env }), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.key, key);
        assert.match(err.reason, reason);
        if (env.JWT_SECRET) assert.ok(!err.line().includes(env.JWT_SECRET), 'a secret is never quoted');
        return true;
      });
    };
    refused({ ADMIN_BIND_HOST: '0.0.0.0', JWT_SECRET: 'too-short-secret' }, 'JWT_SECRET', /at least 32 characters/);
    refused({ ADMIN_BIND_HOST: '0.0.0.0', JWT_SECRET, ADMIN_AUTH: 'none' }, 'ADMIN_AUTH', /only on a loopback/);
    refused({ ADMIN_AUTH: 'off' }, 'ADMIN_AUTH', /"password" or "none"/);
    refused({ ADMIN_ACCESS_TTL_SECONDS: '3600' }, 'ADMIN_ACCESS_TTL_SECONDS', /from 1 to 900/);
    refused({ ADMIN_ALLOWED_HOSTS: 'http://x/' }, 'ADMIN_ALLOWED_HOSTS', /not a host/);
    refused({ ADMIN_ENGINE_URL: 'http://user:pw@127.0.0.1:1' }, 'ADMIN_ENGINE_URL', /without credentials/);
    assert.equal(loadSettings({ ADMIN_BIND_HOST: '0.0.0.0', JWT_SECRET }).host, '0.0.0.0');
  });

  it('ADMIN_AUTH=none on loopback: every local caller is an admin, writes still need the CSRF header, no user is created', async () => {
    const admin = await startAdmin({ ADMIN_AUTH: 'none' });
    try {
      assert.equal(admin.firstPassword, '', 'no first-run password');
      assert.match(admin.service.stdout(), /ADMIN_AUTH=none/);
      const client = admin.client();
      const me = await client.get('/api/me');
      assert.equal(me.status, 200);
      assert.equal(me.json.user.name, 'local');
      assert.ok(client.cookie('csrf'), 'a csrf cookie to echo');
      assert.equal((await client.request('/api/tokens', { body: { name: 'n', scopes: ['calls:read'] } })).status, 403);
      assert.equal((await client.send('POST', '/api/tokens', { name: 'n', scopes: ['calls:read'] })).status, 201);
    } finally {
      await admin.stop();
    }
  });

  it('without JWT_SECRET on loopback it starts, signing sessions with a random key of its own', async () => {
    const admin = await startAdmin({ JWT_SECRET: '' });
    try {
      assert.match(admin.firstPassword, /^[A-Za-z0-9_-]{24}$/);
      const client = admin.client();
      assert.equal((await client.request('/api/auth/login', { body: { username: 'admin', password: admin.firstPassword } })).status, 200);
      assert.equal((await client.get('/api/me')).status, 200);
    } finally {
      await admin.stop();
    }
  });
});
