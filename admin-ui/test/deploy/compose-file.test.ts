// docker-compose.yml's rules, read through Compose itself (`docker-compose config`: the file validated and
// interpolated exactly as `up` would use it): what it requires, where ports are published, how each container is
// confined, who gets the Docker socket. images.test.ts runs the same file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LISTENER_RULES } from '@ai-agent/common';
import { composeUnavailableReason, renderCompose, REQUIRED_ENV, type ComposeModel } from './compose.ts';

const skip = composeUnavailableReason();
const PROXY = 'docker-socket-proxy';
const SOCKET = '/var/run/docker.sock';

const renders = new Map<string, ComposeModel>();

/** The file as Compose renders it with the required values plus `env` (each rendering once: Compose is slow to start). */
function rendered(env: Record<string, string> = {}): ComposeModel {
  const key = JSON.stringify(env);
  if (!renders.has(key)) {
    const result = renderCompose({ ...REQUIRED_ENV, ...env });
    assert.equal(result.code, 0, result.stderr);
    renders.set(key, result.model!);
  }
  return renders.get(key)!;
}

/** `host_ip:host_port:container_port/proto` as Compose renders a published port. */
function publishedAddress(port: string): string {
  const match = /^(\[[^\]]+\]|[^:]+):\d+:\d+(\/\w+)?$/.exec(port);
  assert.ok(match, `a published port without an address (it would listen on every interface): ${port}`);
  return match[1]!;
}

/** Source and target of a volume entry ("source:target[:mode]"). */
function mount(volume: string): { source: string; target: string; mode: string } {
  const [source, target, mode = 'rw'] = volume.split(':');
  return { source: source!, target: target!, mode };
}

describe('docker-compose.yml', { skip: skip ?? false }, () => {
  it('is valid Compose, and refuses to start without each value it requires, naming it', () => {
    rendered();
    for (const name of Object.keys(REQUIRED_ENV)) {
      const env: Record<string, string> = { ...REQUIRED_ENV };
      delete env[name];
      const result = renderCompose(env);
      assert.notEqual(result.code, 0, `${name} missing`);
      assert.match(result.stderr, new RegExp(`set ${name} in \\.env`));
    }
  });

  it('publishes every port on 127.0.0.1 unless that listener\'s own opt-in variable names an address', () => {
    const services = Object.entries(rendered().services);
    const published = services.flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p] as const));
    assert.ok(published.length > 0);
    for (const [name, port] of published) assert.equal(publishedAddress(port), '127.0.0.1', `${name}: ${port}`);
    // Each listener's opt-in set to an address of its own: every published port must follow one of them.
    const optIns = Object.fromEntries(Object.values(LISTENER_RULES).map((rule, i) => [rule.hostVar, `192.0.2.${i + 1}`]));
    const opened = Object.entries(rendered(optIns).services).flatMap(([, s]) => (s.ports ?? []).map(publishedAddress));
    assert.equal(opened.length, published.length);
    for (const address of opened) assert.ok(Object.values(optIns).includes(address), `${address} follows no listener's opt-in`);
  });

  it('confines every container: read-only root, no capabilities, no privilege gain, a non-root user, a health check', () => {
    for (const [name, service] of Object.entries(rendered().services)) {
      assert.equal(service.read_only, true, `${name}: read_only`);
      assert.deepEqual(service.cap_drop, ['ALL'], `${name}: cap_drop`);
      assert.ok(service.security_opt?.includes('no-new-privileges:true'), `${name}: no-new-privileges`);
      assert.match(service.user ?? '', /^[1-9]\d*:[1-9]\d*$/, `${name}: user (numeric, not root)`);
      assert.ok(!service.privileged && !service.cap_add && !service.pid && !service.ipc && !service.devices, `${name}: nothing privileged`);
      assert.ok(service.healthcheck && !service.healthcheck.disable, `${name}: healthcheck`);
      for (const volume of service.volumes ?? []) assert.ok(mount(volume).target !== '/', `${name}: mounts over /`);
    }
  });

  it('gives the Docker socket to the proxy alone, read-only, and the proxy no network', () => {
    const custom = '/run/user/1000/docker.sock';
    const services = rendered({ DOCKER_SOCKET: custom }).services;
    for (const [name, service] of Object.entries(services)) {
      const socket = (service.volumes ?? []).map(mount).filter((m) => m.source === custom || m.target === SOCKET || m.source.endsWith('docker.sock'));
      if (name === PROXY) assert.deepEqual(socket, [{ source: custom, target: SOCKET, mode: 'ro' }]);
      else assert.deepEqual(socket, [], `${name} mounts the Docker socket`);
    }
    assert.equal(services[PROXY]!.network_mode, 'none');
  });

  it('shares the proxy\'s socket only with the admin UI, in a tmpfs only their user may enter', () => {
    const model = rendered();
    const proxySocket = (model.services[PROXY]!.volumes ?? []).map(mount).find((m) => m.target === '/run/docker-proxy')!;
    const holders = Object.entries(model.services).filter(([, s]) => (s.volumes ?? []).some((v) => mount(v).source === proxySocket.source));
    assert.deepEqual(holders.map(([name]) => name).sort(), ['admin-ui', PROXY]);
    const uid = model.services[PROXY]!.user!.split(':')[0];
    assert.equal(model.services['admin-ui']!.user, model.services[PROXY]!.user);
    const options = model.volumes?.[proxySocket.source]?.driver_opts;
    assert.equal(options?.type, 'tmpfs');
    assert.match(options?.o ?? '', new RegExp(`(^|,)uid=${uid}(,|$)`));
    assert.match(options?.o ?? '', /(^|,)mode=0?700(,|$)/);
  });

  it('puts only the engine and the admin UI on the host network (ARI, RTP and the control API are on its loopback)', () => {
    const services = rendered().services;
    const onHost = Object.entries(services).filter(([, s]) => s.network_mode === 'host').map(([name]) => name).sort();
    assert.deepEqual(onHost, ['admin-ui', 'ai-engine']);
  });

  it('gives no secret a value of its own: each is empty unless .env (here: the environment) sets it', () => {
    for (const [name, service] of Object.entries(rendered().services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!/PASSWORD|TOKEN|SECRET|API_KEY/.test(key)) continue;
        assert.equal(value, (REQUIRED_ENV as Record<string, string>)[key] ?? '', `${name}: ${key}`);
      }
    }
  });
});
