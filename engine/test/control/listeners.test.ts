import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { jsonLines, listeningSockets, startService } from '@ai-agent/common/testing';
import { testConfig } from './engine-config.ts';

const ENGINE = 'engine/src/main.ts';
const ADMIN = 'admin-ui/src/server/main.ts';
// The engine's call store goes to a temp dir, not the repository's data/.
const config = testConfig();
// chan_websocket client mode: the only configuration with a media WebSocket listener.
const clientMode = testConfig({ telephony: { transport: 'websocket', websocket_connection: 'client', websocket_client: 'ai-engine' } });
after(() => {
  config.remove();
  clientMode.remove();
});

async function boundAddresses(
  entry: string,
  env: Record<string, string>,
  ready = /listening/,
  engineConfig = config,
): Promise<{ addresses: string[]; byPort: Map<number, string>; output: string }> {
  const svc = startService(entry, entry === ENGINE ? { ...engineConfig.env, ...env } : env);
  try {
    await svc.waitFor(ready);
    const sockets = (await listeningSockets(svc.child.pid!)).filter((s) => s.protocol === 'tcp');
    return {
      addresses: sockets.map((s) => s.address),
      byPort: new Map(sockets.map((s) => [s.port, s.address])),
      output: svc.stdout() + svc.stderr(),
    };
  } finally {
    await svc.stop();
  }
}

describe('listener bind policy, as the kernel sees it', () => {
  // The engine's TCP listeners: control and AudioSocket, plus WebSocket media in chan_websocket client mode
  // (RTP ports open per call). The media listeners start after control, AudioSocket first.
  const ENGINE_ENV = { HEALTH_PORT: '0' };
  const engineReady = /audiosocket listening/;
  const clientModeReady = /media websocket listening/;
  const ports = (output: string): { control: number; audiosocket: number; websocket: number } => {
    const lines = jsonLines(output);
    const port = (msg: string): number => {
      const l = lines.find((x) => x.msg === msg) as { port?: number; address?: { port: number } } | undefined;
      return l?.port ?? l?.address?.port ?? -1;
    };
    return { control: port('engine control server listening'), audiosocket: port('audiosocket listening'), websocket: port('media websocket listening') };
  };

  it('every engine listener binds 127.0.0.1 by default and logs no exposure warning', async () => {
    const { addresses, output } = await boundAddresses(ENGINE, ENGINE_ENV, engineReady);
    assert.equal(addresses.length, 2, `control and AudioSocket listeners, no media WebSocket one in server mode: ${addresses}`);
    assert.ok(addresses.every((a) => a === '127.0.0.1'), String(addresses));
    assert.ok(!jsonLines(output).some((l) => l.level === 40 && String(l.msg).includes('non-loopback')));
    const client = await boundAddresses(ENGINE, ENGINE_ENV, clientModeReady, clientMode);
    assert.equal(client.addresses.length, 3, `control, AudioSocket and WebSocket media listeners in client mode: ${client.addresses}`);
    assert.ok(client.addresses.every((a) => a === '127.0.0.1'), String(client.addresses));
  });

  it('each engine listener opts in on its own variable, with a warning line for each', async () => {
    const { byPort, output } = await boundAddresses(ENGINE, { ...ENGINE_ENV, AUDIOSOCKET_HOST: '0.0.0.0' }, engineReady);
    const p = ports(output);
    assert.equal(byPort.get(p.audiosocket), '0.0.0.0');
    assert.equal(byPort.get(p.control), '127.0.0.1');
    assert.match(output, /audiosocket listener binds to non-loopback 0\.0\.0\.0/);
    const ws = await boundAddresses(ENGINE, { ...ENGINE_ENV, MEDIA_WS_HOST: '0.0.0.0' }, clientModeReady, clientMode);
    assert.equal(ws.byPort.get(ports(ws.output).websocket), '0.0.0.0');
    assert.equal(ws.byPort.get(ports(ws.output).audiosocket), '127.0.0.1');
  });

  it('engine control binds where HEALTH_BIND_HOST opts in, with a warning line', async () => {
    const { byPort, output } = await boundAddresses(ENGINE, { ...ENGINE_ENV, HEALTH_BIND_HOST: '0.0.0.0' }, engineReady);
    assert.equal(byPort.get(ports(output).control), '0.0.0.0');
    assert.equal(byPort.get(ports(output).audiosocket), '127.0.0.1');
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

  it('admin UI off loopback with an empty JWT_SECRET_FILE refuses to start, naming it', async () => {
    const empty = join(mkdtempSync(join(tmpdir(), 'jwt-')), 'secret');
    writeFileSync(empty, '');
    try {
      const svc = startService(ADMIN, { ADMIN_PORT: '0', ADMIN_BIND_HOST: '0.0.0.0', JWT_SECRET_FILE: empty });
      assert.equal(await svc.exited, 2);
      assert.match(svc.stderr(), /JWT_SECRET_FILE: the file it names is empty/);
      assert.ok(!svc.stdout().includes('listening'));
    } finally {
      rmSync(dirname(empty), { recursive: true, force: true });
    }
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
