import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startAsteriskPeer, pause, say } from '../src/index.ts';
import { EventLog, ari, udpSocket } from './helpers.ts';

test('ARI REST answers like Asterisk: auth, 404, 409, 400, 422, 501', async (t) => {
  const peer = await startAsteriskPeer({ username: 'ari-user', password: 's3cret' });
  t.after(() => peer.close());

  const anon = await fetch(`${peer.url}/ari/asterisk/info`);
  assert.equal(anon.status, 401);
  assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic realm="Asterisk REST Interface"/);
  assert.deepEqual(await anon.json(), { message: 'Authentication required' });
  const wrong = await fetch(`${peer.url}/ari/asterisk/info`, { headers: { Authorization: `Basic ${Buffer.from('ari-user:nope').toString('base64')}` } });
  assert.equal(wrong.status, 401);
  const viaKey = await fetch(`${peer.url}/ari/asterisk/info?api_key=ari-user:s3cret`);
  assert.equal(viaKey.status, 200);
  assert.ok(((await viaKey.json()) as { system: { entity_id: string } }).system.entity_id);
  const docsAnon = await fetch(`${peer.url}/ari/api-docs/resources.json`);
  assert.equal(docsAnon.status, 401, 'API docs need credentials too');

  assert.deepEqual(await ari(peer, 'GET', '/channels/nope'), { status: 404, json: { message: 'Channel not found' } });
  assert.equal((await ari(peer, 'POST', '/channels/nope/answer')).status, 404);
  assert.deepEqual(await ari(peer, 'GET', '/bridges/nope'), { status: 404, json: { message: 'Bridge not found' } });
  assert.deepEqual(await ari(peer, 'GET', '/playbacks/nope'), { status: 404, json: { message: 'Playback not found' } });
  assert.equal((await ari(peer, 'GET', '/no/such/resource')).status, 404);
  assert.deepEqual(await ari(peer, 'PUT', '/channels'), { status: 405, json: { message: 'Invalid method' } });

  const rtp = await udpSocket();
  t.after(() => rtp.socket.close());
  const em = (q: string) => ari(peer, 'POST', `/channels/externalMedia?${q}`);
  assert.deepEqual(await em(`external_host=127.0.0.1:${rtp.port}&format=ulaw`), { status: 400, json: { message: 'app cannot be empty' } });
  assert.deepEqual(await em(`app=ai-agent&format=ulaw`), { status: 400, json: { message: 'external_host cannot be empty' } });
  assert.deepEqual(await em(`app=ai-agent&external_host=nohostport&format=ulaw`), { status: 400, json: { message: 'external_host must be <host>:<port>' } });
  assert.deepEqual(await em(`app=ai-agent&external_host=127.0.0.1:${rtp.port}`), { status: 400, json: { message: 'format cannot be empty' } });
  assert.deepEqual(
    await em(`app=ai-agent&external_host=127.0.0.1:${rtp.port}&format=slin&encapsulation=audiosocket&transport=tcp`),
    { status: 400, json: { message: 'data can not be empty' } },
  );
  assert.deepEqual(
    await em(`app=ai-agent&external_host=127.0.0.1:${rtp.port}&format=ulaw&encapsulation=rtp&transport=tcp`),
    { status: 501, json: { message: 'The encapsulation and/or transport is not supported' } },
  );
  assert.deepEqual(await ari(peer, 'POST', '/channels?app=ai-agent'), { status: 400, json: { message: 'Endpoint must be specified' } });
  assert.equal((await ari(peer, 'POST', '/channels/externalMedia?app=ai-agent&external_host=127.0.0.1:9&format=ulaw', { variables: { X: 1 } })).status, 400);

  // A caller that left Stasis (continue) still exists but is no longer controllable: 409.
  const events = await EventLog.open(peer);
  t.after(() => events.close());
  const call = await peer.placeCall({ script: [pause(3000)] });
  const id = call.channelId!;
  assert.equal((await ari(peer, 'POST', `/channels/${id}/continue?context=transfer&extension=100`)).status, 204);
  assert.deepEqual(await ari(peer, 'POST', `/channels/${id}/answer`), { status: 409, json: { message: 'Channel not in Stasis application' } });
  assert.equal((await ari(peer, 'GET', `/channels/${id}`)).status, 200);
  const bridge = await ari(peer, 'POST', '/bridges?type=mixing');
  assert.equal(bridge.status, 200);
  assert.deepEqual(await ari(peer, 'POST', `/bridges/${bridge.json.id}/addChannel?channel=${id}`), { status: 422, json: { message: 'Channel not in Stasis application' } });
  assert.deepEqual(await ari(peer, 'POST', `/bridges/${bridge.json.id}/addChannel?channel=ghost`), { status: 400, json: { message: 'Channel not found' } });
  assert.deepEqual(await ari(peer, 'DELETE', `/channels/${id}?reason=bogus`), { status: 400, json: { message: 'Invalid reason for hangup provided' } });
  assert.equal((await ari(peer, 'DELETE', `/channels/${id}?reason=busy`)).status, 204);
  const report = await call.done;
  assert.equal(report.endedBy, 'engine-hangup');
  assert.equal((await ari(peer, 'GET', `/channels/${id}`)).status, 404);
});

test('events WebSocket needs credentials and an app, and a second connection replaces the app', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const status = (url: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => (ws.close(), resolve(101)));
      ws.on('error', () => {});
    });
  assert.equal(await status(`ws://127.0.0.1:${peer.port}/ari/events?app=ai-agent`), 401);
  assert.equal(await status(`ws://127.0.0.1:${peer.port}/ari/events?api_key=${peer.username}:${peer.password}`), 400);
  const first = await EventLog.open(peer);
  const second = await EventLog.open(peer);
  t.after(() => (first.close(), second.close()));
  await first.next((e) => e.type === 'ApplicationReplaced');
  const call = await peer.placeCall({ script: [say('silence:100')] });
  await second.next((e) => e.type === 'StasisStart');
  await call.done;
  assert.equal(first.types().filter((x) => x === 'StasisStart').length, 0);
});

test('a call into an unregistered app never reaches Stasis', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const call = await peer.placeCall({ app: 'nobody', script: [pause(100)] });
  const report = await call.done;
  assert.equal(call.channelId, null);
  assert.equal(report.endedBy, 'error');
  assert.match(report.error ?? '', /Stasis app 'nobody' not registered/);
});
