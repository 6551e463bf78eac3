import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, applyEnvAliases } from '../src/index.ts';

describe('environment aliases of the other Asterisk AI engine', () => {
  it('nothing to do without them: no notice, environment untouched', () => {
    const env = { ARI_USERNAME: 'ai-agent' };
    assert.deepEqual(applyEnvAliases(env), []);
    assert.deepEqual(env, { ARI_USERNAME: 'ai-agent' });
  });

  it('an alias alone becomes the product name, with one notice naming both', () => {
    const env: NodeJS.ProcessEnv = { ASTERISK_ARI_USERNAME: 'pbx-user', ASTERISK_ARI_PASSWORD: 'pbx-secret' };
    const notices = applyEnvAliases(env);
    assert.equal(env.ARI_USERNAME, 'pbx-user');
    assert.equal(env.ARI_PASSWORD, 'pbx-secret');
    assert.deepEqual(notices, [
      { level: 'info', message: "ASTERISK_ARI_USERNAME is read as ARI_USERNAME (this product's name for it)" },
      { level: 'info', message: "ASTERISK_ARI_PASSWORD is read as ARI_PASSWORD (this product's name for it)" },
    ]);
  });

  it('the URL is built from ASTERISK_ARI_SCHEME, ASTERISK_HOST and ASTERISK_ARI_PORT with that engine\'s defaults', () => {
    const host = { ASTERISK_HOST: '10.0.0.5' } as NodeJS.ProcessEnv;
    assert.deepEqual(applyEnvAliases(host), [{ level: 'info', message: "ASTERISK_HOST is read as ARI_URL (this product's name for it)" }]);
    assert.equal(host.ARI_URL, 'http://10.0.0.5:8088');
    const all = { ASTERISK_ARI_SCHEME: 'https', ASTERISK_HOST: 'pbx.example.com', ASTERISK_ARI_PORT: '8089' } as NodeJS.ProcessEnv;
    applyEnvAliases(all);
    assert.equal(all.ARI_URL, 'https://pbx.example.com:8089');
    const port = { ASTERISK_ARI_PORT: '18088' } as NodeJS.ProcessEnv;
    applyEnvAliases(port);
    assert.equal(port.ARI_URL, 'http://127.0.0.1:18088');
    const v6 = { ASTERISK_HOST: 'fd00::5' } as NodeJS.ProcessEnv;
    applyEnvAliases(v6);
    assert.equal(v6.ARI_URL, 'http://[fd00::5]:8088');
  });

  it("both set and different: the product's own name wins, with a warning that never shows a password", () => {
    const env: NodeJS.ProcessEnv = {
      ARI_USERNAME: 'ai-agent', ASTERISK_ARI_USERNAME: 'other',
      ARI_PASSWORD: 'ours-secret', ASTERISK_ARI_PASSWORD: 'theirs-secret',
      ARI_URL: 'http://127.0.0.1:8088', ASTERISK_HOST: '10.0.0.5',
    };
    const notices = applyEnvAliases(env);
    assert.equal(env.ARI_USERNAME, 'ai-agent');
    assert.equal(env.ARI_PASSWORD, 'ours-secret');
    assert.equal(env.ARI_URL, 'http://127.0.0.1:8088');
    assert.ok(notices.every((n) => n.level === 'warn'), JSON.stringify(notices));
    assert.equal(notices[0].message, 'ASTERISK_ARI_USERNAME and ARI_USERNAME are both set and differ (ARI_USERNAME=ai-agent, ASTERISK_ARI_USERNAME gives other): ARI_USERNAME wins');
    assert.equal(notices[1].message, 'ASTERISK_ARI_PASSWORD and ARI_PASSWORD are both set and differ: ARI_PASSWORD wins');
    assert.match(notices[2].message, /^ASTERISK_HOST and ARI_URL are both set and differ .*: ARI_URL wins$/);
    assert.ok(!JSON.stringify(notices).includes('secret'));
  });

  it('both set and equal (the same URL written differently counts as equal): an info line, nothing changes', () => {
    const env: NodeJS.ProcessEnv = { ARI_URL: 'http://10.0.0.5:8088/', ASTERISK_HOST: '10.0.0.5', ARI_USERNAME: 'a', ASTERISK_ARI_USERNAME: 'a' };
    const notices = applyEnvAliases(env);
    assert.deepEqual(notices.map((n) => n.level), ['info', 'info']);
    assert.equal(env.ARI_URL, 'http://10.0.0.5:8088/');
  });

  it('a password given as ARI_PASSWORD_FILE is the product\'s own: the alias is ignored with a warning', () => {
    const env: NodeJS.ProcessEnv = { ARI_PASSWORD_FILE: '/run/secrets/ari', ASTERISK_ARI_PASSWORD: 'x' };
    assert.deepEqual(applyEnvAliases(env), [{ level: 'warn', message: "ASTERISK_ARI_PASSWORD is ignored: ARI_PASSWORD_FILE is set, and the product's own setting wins" }]);
    assert.equal(env.ARI_PASSWORD, undefined);
  });

  it('a malformed alias is refused naming it', () => {
    const cases: Array<[NodeJS.ProcessEnv, string]> = [
      [{ ASTERISK_ARI_PORT: '80a' }, 'ASTERISK_ARI_PORT'],
      [{ ASTERISK_ARI_PORT: '70000' }, 'ASTERISK_ARI_PORT'],
      [{ ASTERISK_ARI_SCHEME: 'ftp' }, 'ASTERISK_ARI_SCHEME'],
      [{ ASTERISK_HOST: 'http://pbx:8088' }, 'ASTERISK_HOST'],
    ];
    for (const [env, key] of cases) {
      assert.throws(() => applyEnvAliases(env), (err: unknown) => err instanceof ConfigError && err.key === key, key);
      assert.equal(env.ARI_URL, undefined);
    }
  });
});
