// GET /ari/asterisk/modules[/{name}] and /ari/applications answer as res/ari/resource_asterisk.c and
// resource_applications.c do (rest-api/api-docs/asterisk.json, applications.json), and a test can unload a module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ari from 'ari-client';
import { createLogger } from '@ai-agent/common';
import { startAsteriskPeer } from '../src/index.ts';
import { EventLog, ari as rest } from './helpers.ts';

const log = createLogger({ service: 'asterisk-test-peer', level: 'error' });

test('modules: list, get by exact name, 404 when not loaded, 409 without ".so", unload and load', async (t) => {
  const peer = await startAsteriskPeer({ username: 'ari-user', password: 'pw', log });
  t.after(() => peer.close());

  const list = await rest(peer, 'GET', '/asterisk/modules');
  assert.equal(list.status, 200);
  const names = (list.json as Array<{ name: string }>).map((m) => m.name);
  assert.deepEqual(names, [...names].sort(), 'strcasecmp order, as loader.c lists them');
  assert.ok(names.indexOf('res_ari.so') < names.indexOf('res_ari_applications.so'));
  for (const name of ['res_ari.so', 'res_stasis.so', 'chan_rtp.so', 'chan_audiosocket.so', 'res_audiosocket.so', 'chan_websocket.so']) {
    assert.ok(names.includes(name), name);
  }
  assert.deepEqual(await rest(peer, 'GET', '/asterisk/modules/chan_rtp.so'), {
    status: 200,
    json: { name: 'chan_rtp.so', description: 'RTP Media Channel', use_count: 0, status: 'Running', support_level: 'core' },
  });
  // ast_module_check matches loosely, identify_module exactly: the name without ".so" is found but not reported.
  assert.deepEqual(await rest(peer, 'GET', '/asterisk/modules/chan_rtp'), { status: 409, json: { message: 'Module information could not be retrieved' } });
  assert.equal((await rest(peer, 'GET', '/asterisk/modules/CHAN_RTP.so')).status, 409);
  assert.deepEqual(await rest(peer, 'GET', '/asterisk/modules/chan_nothing.so'), { status: 404, json: { message: 'Module could not be found in running modules' } });

  assert.equal((await rest(peer, 'DELETE', '/asterisk/modules/chan_rtp.so')).status, 204);
  assert.equal((await rest(peer, 'GET', '/asterisk/modules/chan_rtp.so')).status, 404);
  assert.ok(!(await rest(peer, 'GET', '/asterisk/modules')).json.some((m: { name: string }) => m.name === 'chan_rtp.so'));
  assert.deepEqual(await rest(peer, 'DELETE', '/asterisk/modules/chan_rtp.so'), { status: 404, json: { message: 'Module not found in running modules' } });
  assert.equal((await rest(peer, 'POST', '/asterisk/modules/chan_rtp.so')).status, 204);
  assert.equal((await rest(peer, 'GET', '/asterisk/modules/chan_rtp.so')).json.status, 'Running');
  assert.deepEqual(await rest(peer, 'POST', '/asterisk/modules/chan_rtp.so'), { status: 409, json: { message: 'Module is already loaded' } });
  assert.equal((await rest(peer, 'POST', '/asterisk/modules/chan_nothing.so')).status, 409);

  // The tests' handle: what an operator's `module unload` does.
  peer.core.modules.unload('chan_websocket');
  assert.equal((await rest(peer, 'GET', '/asterisk/modules/chan_websocket.so')).status, 404);

  const anon = await fetch(`${peer.url}/ari/asterisk/modules`);
  assert.equal(anon.status, 401);
});

test('applications: the registered Stasis apps and their subscriptions; 404 for an unknown one', async (t) => {
  const peer = await startAsteriskPeer({ username: 'ari-user', password: 'pw', log });
  t.after(() => peer.close());
  assert.deepEqual(await rest(peer, 'GET', '/applications'), { status: 200, json: [] });
  const events = await EventLog.open(peer, 'ai-agent');
  const listed = await rest(peer, 'GET', '/applications');
  assert.deepEqual(listed.json, [
    { name: 'ai-agent', channel_ids: [], bridge_ids: [], endpoint_ids: [], device_names: [], events_allowed: [], events_disallowed: [] },
  ]);
  assert.equal((await rest(peer, 'GET', '/applications/ai-agent')).status, 200);
  assert.deepEqual(await rest(peer, 'GET', '/applications/other'), { status: 404, json: { message: 'Application not found' } });
  events.close();
  for (let i = 0; i < 50 && peer.core.apps.has('ai-agent'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual((await rest(peer, 'GET', '/applications')).json, [], 'an app without subscriptions goes when its socket closes');
});

test('ari-client builds the module and application operations from the served API description', async (t) => {
  const peer = await startAsteriskPeer({ username: 'ari-user', password: 'pw', log });
  t.after(() => peer.close());
  const client: any = await ari.connect(peer.url, 'ari-user', 'pw');
  const modules = await client.asterisk.listModules();
  assert.ok(modules.some((m: { name: string }) => m.name === 'res_stasis.so'));
  assert.equal((await client.asterisk.getModule({ moduleName: 'res_ari.so' })).description, 'Asterisk RESTful Interface');
  await client.asterisk.unloadModule({ moduleName: 'chan_audiosocket.so' });
  await assert.rejects(client.asterisk.getModule({ moduleName: 'chan_audiosocket.so' }), /Module could not be found in running modules/);
  assert.deepEqual(await client.applications.list(), []);
});
