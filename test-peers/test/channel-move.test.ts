import { test } from 'node:test';
import assert from 'node:assert/strict';
import ari from 'ari-client';
import { startAsteriskPeer, pause } from '../src/index.ts';
import { EventLog, ari as rest, sleep } from './helpers.ts';

const of = (id: string) => (e: any) => e.channel?.id === id;

test('POST /channels/{id}/move hands the channel from one Stasis app to another', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const a = await EventLog.open(peer, 'app-a');
  const b = await EventLog.open(peer, 'app-b');
  t.after(() => (a.close(), b.close()));

  const call = await peer.placeCall({ app: 'app-a', args: ['in'], script: [pause(5000)] });
  const id = call.channelId!;
  await a.next((e) => e.type === 'StasisStart' && e.channel.id === id);

  assert.deepEqual(await rest(peer, 'POST', `/channels/${id}/move?app=app-b&appArgs=x,y`), { status: 204, json: null });
  const end = await a.next((e) => e.type === 'StasisEnd' && e.channel.id === id);
  const start = await b.next((e) => e.type === 'StasisStart' && e.channel.id === id);
  assert.equal(end.application, 'app-a');
  assert.equal(start.application, 'app-b');
  assert.deepEqual(start.args, ['x', 'y']);
  assert.equal(start.channel.state, 'Ring');
  assert.deepEqual(b.types(of(id)), ['StasisStart'], 'app-b hears nothing of the channel before its StasisStart');
  assert.deepEqual((await rest(peer, 'GET', '/applications/app-a')).json.channel_ids, []);
  assert.deepEqual((await rest(peer, 'GET', '/applications/app-b')).json.channel_ids, [id]);

  // Still in Stasis (now app-b's): controllable, and only app-b hears it from here on.
  const aBefore = a.events.filter(of(id)).length;
  assert.equal((await rest(peer, 'POST', `/channels/${id}/answer`)).status, 204);
  assert.equal((await rest(peer, 'DELETE', `/channels/${id}`)).status, 204);
  await b.next((e) => e.type === 'ChannelDestroyed' && e.channel.id === id);
  await sleep(50);
  assert.deepEqual(b.types(of(id)), ['StasisStart', 'ChannelStateChange', 'ChannelHangupRequest', 'StasisEnd', 'ChannelDestroyed']);
  assert.equal(a.events.filter(of(id)).length, aBefore, 'app-a hears nothing of the channel after its StasisEnd');
  assert.deepEqual(a.types(of(id)), ['StasisStart', 'StasisEnd']);
  assert.equal((await call.done).endedBy, 'engine-hangup');
});

test('move: 404, 409 and 400 like the other channel controls; no appArgs gives empty args', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const a = await EventLog.open(peer, 'app-a');
  const b = await EventLog.open(peer, 'app-b');
  t.after(() => (a.close(), b.close()));

  assert.deepEqual(await rest(peer, 'POST', '/channels/nope/move?app=app-b'), { status: 404, json: { message: 'Channel not found' } });

  const left = await peer.placeCall({ app: 'app-a', script: [pause(3000)] });
  await a.next((e) => e.type === 'StasisStart' && e.channel.id === left.channelId);
  assert.equal((await rest(peer, 'POST', `/channels/${left.channelId}/continue?context=transfer&extension=100`)).status, 204);
  assert.deepEqual(
    await rest(peer, 'POST', `/channels/${left.channelId}/move?app=app-b`),
    { status: 409, json: { message: 'Channel not in Stasis application' } },
  );

  const call = await peer.placeCall({ app: 'app-a', script: [pause(3000)] });
  const id = call.channelId!;
  await a.next((e) => e.type === 'StasisStart' && e.channel.id === id);
  assert.equal((await rest(peer, 'POST', `/channels/${id}/move`)).status, 400);
  assert.equal((await rest(peer, 'POST', `/channels/${id}/move?app=app-b`)).status, 204);
  assert.deepEqual((await b.next((e) => e.type === 'StasisStart' && e.channel.id === id)).args, []);
  // Empty arguments are skipped, as strtok_r does.
  assert.equal((await rest(peer, 'POST', `/channels/${id}/move?app=app-a&appArgs=,p,,q`)).status, 204);
  assert.deepEqual((await a.next((e) => e.type === 'StasisStart' && e.channel.id === id && e.args.length > 0)).args, ['p', 'q']);
  await b.next((e) => e.type === 'StasisEnd' && e.channel.id === id);
});

test('move to an app no WebSocket holds: ApplicationMoveFailed, and the channel stays with its app', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const a = await EventLog.open(peer, 'app-a');
  t.after(() => a.close());

  const call = await peer.placeCall({ app: 'app-a', script: [pause(3000)] });
  const id = call.channelId!;
  await a.next((e) => e.type === 'StasisStart' && e.channel.id === id);
  assert.equal((await rest(peer, 'POST', `/channels/${id}/move?app=nobody&appArgs=x,y`)).status, 204);
  const failed = await a.next((e) => e.type === 'ApplicationMoveFailed');
  assert.equal(failed.application, 'app-a');
  assert.equal(failed.destination, 'nobody');
  assert.deepEqual(failed.args, ['x', 'y']);
  assert.equal(failed.channel.id, id);
  assert.equal((await rest(peer, 'POST', `/channels/${id}/answer`)).status, 204, 'still in Stasis');
  await a.next((e) => e.type === 'ChannelStateChange' && e.channel.id === id);
  assert.deepEqual(a.types(of(id)), ['StasisStart', 'ApplicationMoveFailed', 'ChannelStateChange']);
  assert.deepEqual((await rest(peer, 'GET', '/applications/app-a')).json.channel_ids, [id]);
});

test('a bridged channel moves without leaving its bridge', async (t) => {
  const peer = await startAsteriskPeer();
  t.after(() => peer.close());
  const a = await EventLog.open(peer, 'app-a');
  const b = await EventLog.open(peer, 'app-b');
  t.after(() => (a.close(), b.close()));

  const call = await peer.placeCall({ app: 'app-a', script: [pause(3000)] });
  const id = call.channelId!;
  await a.next((e) => e.type === 'StasisStart' && e.channel.id === id);
  const bridge = (await rest(peer, 'POST', '/bridges?type=mixing')).json;
  assert.equal((await rest(peer, 'POST', `/bridges/${bridge.id}/addChannel?channel=${id}`)).status, 204);
  assert.equal((await rest(peer, 'POST', `/channels/${id}/move?app=app-b`)).status, 204);
  await a.next((e) => e.type === 'StasisEnd' && e.channel.id === id);
  await b.next((e) => e.type === 'StasisStart' && e.channel.id === id);
  assert.deepEqual((await rest(peer, 'GET', `/bridges/${bridge.id}`)).json.channels, [id]);
  assert.ok(![...a.events, ...b.events].some((e) => e.type === 'ChannelLeftBridge'));
  // The channel is app-b's to control in the bridge.
  assert.equal((await rest(peer, 'POST', `/bridges/${bridge.id}/removeChannel?channel=${id}`)).status, 204);
  await b.next((e) => e.type === 'ChannelLeftBridge' && e.channel.id === id);
});

test('ari-client builds channels.move from the served API description', async (t) => {
  const peer = await startAsteriskPeer({ username: 'e', password: 'p' });
  t.after(() => peer.close());
  const a = await EventLog.open(peer, 'app-a');
  const b = await EventLog.open(peer, 'app-b');
  t.after(() => (a.close(), b.close()));
  const client: any = await ari.connect(peer.url, 'e', 'p');

  const call = await peer.placeCall({ app: 'app-a', script: [pause(3000)] });
  const id = call.channelId!;
  await a.next((e) => e.type === 'StasisStart' && e.channel.id === id);
  await client.channels.move({ channelId: id, app: 'app-b', appArgs: 'x,y' });
  assert.deepEqual((await b.next((e) => e.type === 'StasisStart' && e.channel.id === id)).args, ['x', 'y']);
  await assert.rejects(client.channels.move({ channelId: 'nope', app: 'app-b' }), /Channel not found/);
});
