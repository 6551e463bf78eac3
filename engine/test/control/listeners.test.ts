import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { jsonLines, listeningSockets, startService } from '@ai-agent/common/testing';
import { testConfig } from './engine-config.ts';

const ENGINE = 'engine/src/main.ts';
const ADMIN = 'admin-ui/src/server/main.ts';
// The engine's call store goes to a temp dir, not the repository's data/.
const config = testConfig();
after(() => config.remove());

async function boundAddresses(entry: string, env: Record<string, string>): Promise<{ addresses: string[]; output: string }> {
  const svc = startService(entry, entry === ENGINE ? { ...config.env, ...env } : env);
  try {
    await svc.waitFor(/listening/);
    const sockets = await listeningSockets(svc.child.pid!);
    return { addresses: sockets.filter((s) => s.protocol === 'tcp').map((s) => s.address), output: svc.stdout() + svc.stderr() };
  } finally {
    await svc.stop();
  }
}

describe('listener bind policy, as the kernel sees it', () => {
  it('engine control binds 127.0.0.1 by default and logs no exposure warning', async () => {
    const { addresses, output } = await boundAddresses(ENGINE, { HEALTH_PORT: '0' });
    assert.deepEqual(addresses, ['127.0.0.1']);
    assert.ok(!jsonLines(output).some((l) => l.level === 40 && String(l.msg).includes('non-loopback')));
  });

  it('engine control binds where HEALTH_BIND_HOST opts in, with a warning line', async () => {
    const { addresses, output } = await boundAddresses(ENGINE, { HEALTH_PORT: '0', HEALTH_BIND_HOST: '0.0.0.0' });
    assert.deepEqual(addresses, ['0.0.0.0']);
    const lines = jsonLines(output);
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).includes('non-loopback 0.0.0.0')));
    // Off loopback without HEALTH_API_TOKEN it starts, but says remote callers will be refused.
    assert.ok(lines.some((l) => l.level === 40 && String(l.msg).includes('HEALTH_API_TOKEN is not set')));
  });

  it('admin UI binds 127.0.0.1 by default', async () => {
    const { addresses } = await boundAddresses(ADMIN, { ADMIN_PORT: '0' });
    assert.deepEqual(addresses, ['127.0.0.1']);
  });

  it('admin UI off loopback without JWT_SECRET refuses to start, naming JWT_SECRET', async () => {
    const svc = startService(ADMIN, { ADMIN_PORT: '0', ADMIN_BIND_HOST: '0.0.0.0' });
    const code = await svc.exited;
    assert.equal(code, 2);
    assert.match(svc.stderr(), /refusing to start: ADMIN_BIND_HOST=0\.0\.0\.0 .* requires JWT_SECRET/);
    assert.ok(!svc.stdout().includes('listening'));
  });

  it('admin UI off loopback with JWT_SECRET binds there, with a warning', async () => {
    const { addresses, output } = await boundAddresses(ADMIN, {
      ADMIN_PORT: '0',
      ADMIN_BIND_HOST: '0.0.0.0',
      JWT_SECRET: 'j'.repeat(40),
    });
    assert.deepEqual(addresses, ['0.0.0.0']);
    assert.match(output, /non-loopback 0\.0\.0\.0/);
  });

  it('a bind host that is not an IP address is refused, naming the variable', async () => {
    const svc = startService(ENGINE, { ...config.env, HEALTH_PORT: '0', HEALTH_BIND_HOST: 'example.invalid' });
    assert.equal(await svc.exited, 2);
    assert.match(svc.stderr(), /HEALTH_BIND_HOST: "example\.invalid" is not an IP address/);
  });
});

describe('config refusal at start', () => {
  it('an invalid value stops the engine with one line naming the key', async () => {
    const svc = startService(ENGINE, { ...config.env, HEALTH_PORT: '99999' });
    assert.equal(await svc.exited, 2);
    const lines = svc.stderr().trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^config error in .*ai-agent\.yaml: control\.port: .*65535/);
  });

  it('a weak HEALTH_API_TOKEN is refused, naming it and not echoing it', async () => {
    const svc = startService(ENGINE, { ...config.env, HEALTH_PORT: '0', HEALTH_API_TOKEN: 'weakweak' });
    assert.equal(await svc.exited, 2);
    assert.match(svc.stderr(), /HEALTH_API_TOKEN: must be at least 16 characters/);
    assert.ok(!(svc.stdout() + svc.stderr()).includes('weakweak'));
  });
});
