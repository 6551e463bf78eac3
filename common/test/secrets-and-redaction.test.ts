// Secrets decided on the value actually read, redaction of secrets that JSON escapes, and the failure
// limiter's source keys.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuthFailureLimiter, ConfigError, failureSourceKey, readSecret, resolveBindHost } from '@ai-agent/common';
import { REPO_ROOT } from '@ai-agent/common/testing';

const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function configError(key: RegExp): (err: unknown) => boolean {
  return (err: unknown) => err instanceof ConfigError && key.test(err.key);
}

describe('secrets are decided on the value read', () => {
  it('an empty or blank secret file is an error naming the *_FILE variable, not "unset"', () => {
    for (const text of ['', '\n', '   \n']) {
      const file = secretFile('empty', text);
      assert.throws(() => readSecret('LOCAL_WS_AUTH_TOKEN', { LOCAL_WS_AUTH_TOKEN_FILE: file }), configError(/^LOCAL_WS_AUTH_TOKEN_FILE$/));
    }
  });

  it('off loopback, an empty token or JWT secret file refuses the bind', () => {
    const empty = secretFile('empty2', '');
    assert.throws(() => resolveBindHost('local_ws', { LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_AUTH_TOKEN_FILE: empty }), /LOCAL_WS_AUTH_TOKEN/);
    assert.throws(() => resolveBindHost('admin', { ADMIN_BIND_HOST: '0.0.0.0', JWT_SECRET_FILE: empty }), /JWT_SECRET/);
    assert.throws(() => resolveBindHost('local_ws', { LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_AUTH_TOKEN: '   ' }), /requires LOCAL_WS_AUTH_TOKEN/);
  });

  it('every service gets the same minimum lengths, wherever it reads the secret', () => {
    const cases: Array<[string, number]> = [['LOCAL_WS_AUTH_TOKEN', 16], ['HEALTH_API_TOKEN', 16], ['JWT_SECRET', 32], ['SERVICE_SECRET_ADMIN_UI', 32]];
    for (const [name, min] of cases) {
      assert.throws(() => readSecret(name, { [name]: 'x' }), new RegExp(`${name}: must be at least ${min}`));
      assert.throws(() => readSecret(name, { [name]: 'y'.repeat(min - 1) }), configError(new RegExp(`^${name}$`)));
      assert.equal(readSecret(name, { [name]: 'z'.repeat(min) }), 'z'.repeat(min));
    }
    assert.throws(() => resolveBindHost('local_ws', { LOCAL_WS_HOST: '0.0.0.0', LOCAL_WS_AUTH_TOKEN: 'x' }), /LOCAL_WS_AUTH_TOKEN: must be at least 16/);
  });
});

// A real process logging a secret that JSON escapes, to stdout and LOG_FILE, through the logger as a service does.
const SCRIPT = `
import { createLogger, installOutputScrubber, registerEnvSecrets, readSecret } from '@ai-agent/common';
registerEnvSecrets();
const log = createLogger({ service: 'escape-canary' });
installOutputScrubber(log);
const token = readSecret('CANARY_TOKEN');
log.info({ token: 'x', value: token, nested: { text: JSON.stringify({ token }) } }, 'said ' + token);
log.warn({ err: new Error('failed with ' + token) }, 'error');
console.log(JSON.stringify({ token }));
`;

describe('redaction of secrets that JSON escapes', () => {
  it('masks a secret holding a quote, a backslash and a control character on stdout and in LOG_FILE', async () => {
    const secret = 'can"ary\\\\sec\u0001ret-0123456789';
    const logFile = join(dir, 'service.log');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, CANARY_TOKEN: secret, LOG_FILE: logFile },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    await once(child, 'exit');
    const written = `${out}\n${readFileSync(logFile, 'utf8')}`;
    assert.match(written, /said \[REDACTED\]/);
    const escaped = JSON.stringify(secret).slice(1, -1);
    for (const form of [secret, escaped, JSON.stringify(escaped).slice(1, -1), 'sec\\u0001ret-0123456789']) {
      assert.ok(!written.includes(form), `leaked ${JSON.stringify(form)}:\n${written}`);
    }
  });
});

describe('failure limiter source keys', () => {
  it('counts an IPv6 /64 as one source, in any notation', () => {
    const keys = ['2001:db8:1:2::1', '2001:db8:1:2:ffff:1:2:3', '2001:0db8:0001:0002:0:0:0:9', '2001:db8:1:2::a%eth0'].map(failureSourceKey);
    assert.equal(new Set(keys).size, 1);
    assert.notEqual(failureSourceKey('2001:db8:1:3::1'), keys[0]);
    assert.equal(failureSourceKey('::ffff:192.0.2.7'), '192.0.2.7');
    assert.notEqual(failureSourceKey('192.0.2.7'), failureSourceKey('192.0.2.8'));
  });

  it('rotating addresses inside a /64 are blocked together', () => {
    const limiter = new AuthFailureLimiter(3, 60_000);
    for (let i = 1; i <= 3; i++) limiter.recordFailure(`2001:db8:1:2::${i.toString(16)}`);
    assert.ok(limiter.isBlocked('2001:db8:1:2:abcd::99'));
    assert.ok(!limiter.isBlocked('2001:db8:1:3::1'));
  });
});
