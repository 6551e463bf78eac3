import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError, createLogger, loadYamlConfig } from '@ai-agent/common';
import { changedPaths, configHash } from '../../src/control/config/config-diff.ts';
import { ConfigHolder } from '../../src/control/config/config-holder.ts';
import { ConfigReloader } from '../../src/control/config/config-reloader.ts';
import { configRoutes } from '../../src/control/routes/config-routes.ts';
import { startControl } from './control-harness.ts';

const log = createLogger({ service: 'reload-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A config shaped like the engine's where it matters: a listener port, nested limits, a per-context map.
const schema = z.object({
  control: z.object({ port: z.number().int().min(0).max(65535) }).strict(),
  limits: z.object({ max_concurrent_calls: z.number().int().min(1), per_context: z.record(z.string(), z.number().int().min(0)) }).strict(),
  greeting: z.string(),
}).strict();
type Config = z.infer<typeof schema>;

const file = join(dir, 'engine.yaml');
const write = (yaml: string): void => writeFileSync(file, yaml);
const load = (): Config => loadYamlConfig(file, schema, {});
const yaml = (max: number, port = 15000, greeting = 'Hello', perContext = 'sales: 2') =>
  `control:\n  port: ${port}\nlimits:\n  max_concurrent_calls: ${max}\n  per_context:\n    ${perContext}\ngreeting: ${greeting}\n`;

function setup() {
  write(yaml(10));
  const holder = new ConfigHolder(load());
  const swaps: number[] = [];
  const reloader = new ConfigReloader({ holder, load, listenerKeys: { control: ['control.port'] }, onSwap: (s) => swaps.push(s.version), log });
  return { holder, reloader, swaps };
}

describe('ConfigHolder', () => {
  it('hands out frozen snapshots that a swap never changes', () => {
    const source: Config = { control: { port: 1 }, limits: { max_concurrent_calls: 5, per_context: { a: 1 } }, greeting: 'hi' };
    const holder = new ConfigHolder(source);
    const callSnapshot = holder.current(); // what a call in progress holds
    source.limits.max_concurrent_calls = 99; // the caller's object is not ours
    assert.equal(callSnapshot.config.limits.max_concurrent_calls, 5);
    assert.throws(() => { (callSnapshot.config.limits.per_context as Record<string, number>).a = 7; }, TypeError);
    const next = holder.swap({ ...source, greeting: 'welcome' });
    assert.equal(next.version, 2);
    assert.equal(holder.current().config.greeting, 'welcome');
    assert.equal(callSnapshot.config.greeting, 'hi', 'the earlier snapshot is untouched');
    assert.equal(callSnapshot.version, 1);
    assert.notEqual(next.hash, callSnapshot.hash);
  });
});

describe('config diff', () => {
  it('names leaf key paths, never values, and ignores key order', () => {
    const a = { x: { b: 1, a: [1, 2] }, y: 'same' };
    assert.deepEqual(changedPaths(a, { y: 'same', x: { a: [1, 2], b: 1 } }), []);
    assert.equal(configHash(a), configHash({ y: 'same', x: { a: [1, 2], b: 1 } }));
    assert.deepEqual(changedPaths(a, { x: { b: 2, a: [1], c: true }, y: 'same' }), ['x.a', 'x.b', 'x.c']);
  });
});

describe('ConfigReloader', () => {
  it('refuses an invalid file naming the key, and changes nothing', () => {
    const { holder, reloader, swaps } = setup();
    const before = holder.current();
    write(yaml(0));
    assert.throws(() => reloader.reload(), (err: unknown) => err instanceof ConfigError && err.key === 'limits.max_concurrent_calls');
    assert.equal(holder.current(), before);
    assert.deepEqual(swaps, []);
    const state = reloader.state();
    assert.deepEqual(state.onDisk, { error: { key: 'limits.max_concurrent_calls', reason: (state.onDisk as { error: { reason: string } }).error.reason } });
    assert.equal(state.running.hash, before.hash);
  });

  it('swaps a valid file in for new calls while a call in progress keeps its snapshot', () => {
    const { holder, reloader, swaps } = setup();
    const inProgress = holder.current();
    write(yaml(3, 15000, 'Welcome', 'sales: 1'));
    assert.deepEqual(reloader.state().differs, ['greeting', 'limits.max_concurrent_calls', 'limits.per_context.sales']);
    const outcome = reloader.reload();
    assert.deepEqual(outcome, { version: 2, changed: ['greeting', 'limits.max_concurrent_calls', 'limits.per_context.sales'], restartRequired: [] });
    assert.deepEqual(swaps, [2]);
    assert.equal(holder.current().config.limits.max_concurrent_calls, 3);
    assert.equal(inProgress.config.limits.max_concurrent_calls, 10);
    assert.equal(inProgress.config.greeting, 'Hello');
    assert.deepEqual(reloader.state().differs, []);
  });

  it('an unchanged file is no new version', () => {
    const { reloader, swaps } = setup();
    assert.deepEqual(reloader.reload(), { version: 1, changed: [], restartRequired: [] });
    assert.deepEqual(swaps, []);
  });

  it('says which listener needs a restart, until its setting is back', () => {
    const { reloader } = setup();
    write(yaml(10, 15001));
    assert.deepEqual(reloader.reload().restartRequired, ['control']);
    write(yaml(11, 15001));
    assert.deepEqual(reloader.reload(), { version: 3, changed: ['limits.max_concurrent_calls'], restartRequired: ['control'] });
    assert.deepEqual(reloader.state().restartRequired, ['control']);
    write(yaml(11, 15000));
    assert.deepEqual(reloader.reload().restartRequired, []);
  });
});

describe('/reload and /config/state with a file that breaks the loader', () => {
  // The engine's shape where it broke: a URL whose refinement calls new URL() even after the URL check failed.
  const urlSchema = z.object({ ari: z.object({ url: z.string().url().refine((u) => !new URL(u).username, 'no credentials') }) });
  const urlFile = join(dir, 'url.yaml');
  const loadUrl = () => loadYamlConfig(urlFile, urlSchema, {});

  it('answers 400 naming the key (not 500) for an unparseable URL and for a YAML alias bomb', async () => {
    writeFileSync(urlFile, 'ari:\n  url: http://127.0.0.1:8088\n');
    const holder = new ConfigHolder(loadUrl());
    const reloader = new ConfigReloader({ holder, load: loadUrl, listenerKeys: {}, log });
    const control = await startControl(() => [configRoutes({ reload: () => reloader.reload(), state: () => reloader.state(), log })]);
    try {
      const bomb = Array.from({ length: 6 }, (_, i) => `l${i}: &l${i} [${Array(10).fill(i ? `*l${i - 1}` : 'x').join(', ')}]`).join('\n');
      for (const [text, key] of [['ari:\n  url: "http://[bad"\n', 'ari.url'], [`${bomb}\n`, '(yaml)']] as const) {
        writeFileSync(urlFile, text);
        const reload = await fetch(`${control.base}/reload`, { method: 'POST' });
        assert.equal(reload.status, 400, text.slice(0, 20));
        assert.equal(((await reload.json()) as { key: string }).key, key);
        const state = await fetch(`${control.base}/config/state`);
        assert.equal(state.status, 200);
        assert.equal(((await state.json()) as { onDisk: { error: { key: string } } }).onDisk.error.key, key);
      }
      assert.equal(holder.current().version, 1, 'nothing changed');
    } finally {
      await control.close();
    }
  });

  it('turns any other exception of the loader into a config error (logged), never a 500', async () => {
    const holder = new ConfigHolder({ a: 1 });
    const reloader = new ConfigReloader({ holder, load: () => { throw new TypeError('unexpected'); }, listenerKeys: {}, log });
    const control = await startControl(() => [configRoutes({ reload: () => reloader.reload(), state: () => reloader.state(), log })]);
    try {
      const reload = await fetch(`${control.base}/reload`, { method: 'POST' });
      assert.equal(reload.status, 400);
      assert.equal(((await reload.json()) as { key: string }).key, '(config)');
      assert.equal((await fetch(`${control.base}/config/state`)).status, 200);
    } finally {
      await control.close();
    }
  });
});
