// A real dockerd behind the repo's HAProxy config: what the proxy lets through and refuses, and what the admin
// UI's container routes show through it (only the product's containers, logs demultiplexed and redacted).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { registerSecret } from '@ai-agent/common';
import { freePort } from '@ai-agent/common/testing';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { dockerRoutes } from '../../src/server/docker/routes.ts';
import { createDockerReader, PROJECT_LABEL } from '../../src/server/docker/reader.ts';
import { DockerHost, dockerdUnavailableReason, rawRequest } from './docker-host.ts';

const skip = dockerdUnavailableReason();
const PROJECT = 'aiagent-test';
/** Planted in the container's output; registered with the scrubber as every service registers its env secrets. */
const SECRET = `planted-${randomBytes(12).toString('hex')}`;

const LABELLED_SCRIPT = [
  'echo "INFO engine started"',
  `echo "WARN provider key is ${SECRET} oops" >&2`,
  `echo '{"level":50,"msg":"provider failed"}'`,
  'echo "DEBUG noisy detail"',
  'i=0; while true; do i=$((i+1)); echo "INFO tick $i"; sleep 0.3; done',
].join('; ');

/** Stands in for the server's scope check: the header lists the scopes this request holds. */
function requireScope(scope: string) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const held = String(request.headers['x-test-scopes'] ?? '').split(',');
    if (!held.includes(scope)) await reply.code(403).send({ error: 'forbidden' });
  };
}

async function routesApp(env: NodeJS.ProcessEnv): Promise<{ app: FastifyInstance; url: string }> {
  const app = Fastify();
  await app.register(dockerRoutes, { requireScope, docker: createDockerReader(env) });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}

const ALL = { 'x-test-scopes': 'containers:read,logs:read' };

describe('read-only Docker through the repo proxy', { skip: skip ?? false, timeout: 90_000 }, () => {
  const host = new DockerHost();
  let labelled = '';
  let unlabelled = '';
  let routes: { app: FastifyInstance; url: string } | undefined;

  before(async () => {
    registerSecret(SECRET);
    await host.start();
    await host.importImage();
    labelled = await host.run('aiagent-engine', LABELLED_SCRIPT, { [PROJECT_LABEL]: PROJECT, 'com.docker.compose.service': 'ai-engine' });
    unlabelled = await host.run('someone-else', `echo "not ours ${SECRET}"; sleep 3600`, {});
    await host.startProxy();
    routes = await routesApp({ DOCKER_PROXY_URL: `http://127.0.0.1:${host.proxyPort}`, ADMIN_COMPOSE_PROJECT: PROJECT });
  });

  after(async () => {
    await routes?.app.close();
    await host.stop();
  });

  describe('the proxy', () => {
    const proxy = () => ({ port: host.proxyPort });

    it('passes the read paths', async () => {
      for (const path of ['/_ping', '/version', '/info', '/containers/json', '/v1.41/containers/json?all=1', `/containers/${labelled}/json`]) {
        const res = await rawRequest(proxy(), 'GET', path);
        assert.equal(res.status, 200, `${path}: ${res.body.slice(0, 200)}`);
      }
      const listed = JSON.parse((await rawRequest(proxy(), 'GET', '/containers/json')).body) as Array<{ Id: string }>;
      assert.deepEqual(new Set(listed.map((c) => c.Id)), new Set([labelled, unlabelled]));
    });

    it('refuses every change, every other path and every path it cannot read plainly, and the container is untouched', async () => {
      const before = await host.direct.getContainer(labelled).inspect();
      const refused: Array<[string, string, Record<string, string>?]> = [
        ['POST', `/containers/${labelled}/restart`],
        ['POST', `/containers/${labelled}/stop`],
        ['POST', `/containers/${labelled}/kill`],
        ['POST', `/containers/${labelled}/exec`],
        ['POST', `/v1.41/containers/${labelled}/exec`],
        ['DELETE', `/containers/${labelled}?force=1`],
        ['POST', '/images/create?fromImage=busybox'],
        ['POST', '/containers/prune'],
        ['POST', '/containers/create'],
        ['PUT', `/containers/${labelled}/archive?path=/`],
        ['HEAD', '/_ping'],
        // GETs outside the list: a container's files, the image list, secrets of a swarm.
        ['GET', `/containers/${labelled}/archive?path=/bin`],
        ['GET', `/containers/${labelled}/export`],
        ['GET', '/images/json'],
        ['GET', '/secrets'],
        // Paths Docker's router could read differently than the rules do.
        ['GET', `/containers/${labelled}/../../images/json`],
        ['GET', `/containers/..%2F..%2Fimages/json`],
        ['GET', `/containers/${labelled}%2Fjson`],
        ['GET', '//containers/json'],
        ['GET', `/containers//${labelled}/json`],
        ['GET', '/containers/json/../../images/json'],
        // A read that tries to switch protocols or carry a body.
        ['GET', `/containers/${labelled}/logs`, { upgrade: 'tcp', connection: 'Upgrade' }],
        ['GET', '/containers/json', { 'content-length': '2' }],
      ];
      for (const [method, path, headers] of refused) {
        const res = await rawRequest(proxy(), method, path, headers);
        assert.equal(res.status, 403, `${method} ${path} answered ${res.status}`);
      }
      const after = await host.direct.getContainer(labelled).inspect();
      assert.equal(after.State.Running, true);
      assert.equal(after.State.StartedAt, before.State.StartedAt);
      assert.equal(after.RestartCount, 0);
      assert.equal((await host.direct.listImages()).length, 1, 'no image was pulled or created');
    });
  });

  describe('the admin routes', () => {
    const get = (path: string, headers: Record<string, string> = ALL) => fetch(`${routes!.url}${path}`, { headers });

    it('lists only the product\'s containers, with state, start time, restarts and service', async () => {
      const res = await get('/api/containers');
      assert.equal(res.status, 200);
      const list = (await res.json()) as Array<Record<string, unknown>>;
      assert.equal(list.length, 1);
      const [c] = list;
      assert.equal(c!.id, labelled);
      assert.equal(c!.name, 'aiagent-engine');
      assert.equal(c!.image, 'ai-agent-test/busybox:1');
      assert.equal(c!.state, 'running');
      assert.equal(c!.health, null);
      assert.equal(c!.restarts, 0);
      assert.equal(c!.service, 'ai-engine');
      assert.ok(Date.parse(String(c!.startedAt)) > Date.now() - 120_000);
    });

    it('requires containers:read and logs:read', async () => {
      assert.equal((await get('/api/containers', {})).status, 403);
      assert.equal((await get('/api/containers', { 'x-test-scopes': 'logs:read' })).status, 403);
      assert.equal((await get(`/api/containers/${labelled}/logs`, { 'x-test-scopes': 'containers:read' })).status, 403);
    });

    it('returns a container\'s logs demultiplexed, with levels, and the planted secret masked', async () => {
      const res = await get(`/api/containers/${labelled}/logs?tail=500`);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok(!text.includes(SECRET), 'the planted secret reached the response');
      const { lines } = JSON.parse(text) as { lines: Array<{ stream: string; level?: string; text: string; at?: string }> };
      const find = (s: string) => lines.find((l) => l.text.includes(s));
      assert.deepEqual(find('engine started'), { ...find('engine started')!, stream: 'stdout', level: 'info', text: 'INFO engine started' });
      assert.equal(find('provider key')!.stream, 'stderr');
      assert.equal(find('provider key')!.level, 'warn');
      assert.equal(find('provider key')!.text, 'WARN provider key is [REDACTED] oops');
      assert.equal(find('provider failed')!.level, 'error');
      assert.ok(Date.parse(find('engine started')!.at!) > 0, 'each line carries Docker\'s timestamp');
      // No frame header bytes leaked into any line.
      assert.ok(lines.every((l) => !/[\x00-\x08]/.test(l.text)));
    });

    it('filters by minimum level and by text, matching the redacted text only', async () => {
      const warn = (await (await get(`/api/containers/${labelled}/logs?tail=500&level=warn`)).json()) as { lines: Array<{ text: string }> };
      // stdout and stderr are separate pipes: Docker may order their lines either way.
      assert.deepEqual(warn.lines.map((l) => l.text).sort(), ['WARN provider key is [REDACTED] oops', '{"level":50,"msg":"provider failed"}'].sort());
      const ticks = (await (await get(`/api/containers/${labelled}/logs?tail=500&q=TICK`)).json()) as { lines: Array<{ text: string }> };
      assert.ok(ticks.lines.length > 0 && ticks.lines.every((l) => l.text.startsWith('INFO tick ')));
      const probe = (await (await get(`/api/containers/${labelled}/logs?tail=500&q=${SECRET.slice(0, 20)}`)).json()) as { lines: unknown[] };
      assert.deepEqual(probe.lines, [], 'a text filter must not reveal whether a secret is in the logs');
    });

    it('follows a container\'s logs as server-sent events', async () => {
      const abort = new AbortController();
      const res = await fetch(`${routes!.url}/api/containers/${labelled}/logs?tail=0&follow=1&q=tick`, { headers: ALL, signal: abort.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = res.body!.getReader();
      let text = '';
      while ((text.match(/event: line/g) ?? []).length < 2) {
        const { value, done } = await reader.read();
        assert.ok(!done, 'the stream ended early');
        text += Buffer.from(value).toString('utf8');
      }
      abort.abort();
      const first = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as { text: string; stream: string };
      assert.match(first.text, /^INFO tick \d+$/);
    });

    it('answers 404 for a container outside the label set, by full or short id, and 400 for a malformed id', async () => {
      assert.equal((await get(`/api/containers/${unlabelled}/logs`)).status, 404);
      assert.equal((await get(`/api/containers/${unlabelled.slice(0, 12)}/logs`)).status, 404);
      assert.equal((await get(`/api/containers/${unlabelled}/logs?follow=1`)).status, 404);
      assert.equal((await get('/api/containers/someone-else/logs')).status, 400);
      assert.equal((await get(`/api/containers/${labelled}/logs?tail=-1`)).status, 400);
    });

    it('answers 503 "docker unavailable" when Docker is not configured or not answering', async () => {
      const none = await routesApp({});
      const down = await routesApp({ DOCKER_PROXY_URL: `http://127.0.0.1:${await freePort()}` });
      try {
        for (const { url } of [none, down]) {
          for (const path of ['/api/containers', `/api/containers/${labelled}/logs`]) {
            const res = await fetch(`${url}${path}`, { headers: ALL });
            assert.equal(res.status, 503, `${url}${path}`);
            assert.deepEqual(await res.json(), { error: 'docker unavailable' });
          }
        }
      } finally {
        await none.app.close();
        await down.app.close();
      }
    });
  });
});
