import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket, WebSocketServer } from 'ws';
import { startAsteriskPeer, placeWebSocketMediaCall, pause, say } from '../src/index.ts';
import { EventLog, ari, sleep } from './helpers.ts';

/** Collects a media WebSocket's text messages and binary frame count. */
function tap(ws: WebSocket) {
  const texts: string[] = [];
  const state = { binary: 0, texts };
  ws.on('message', (data, isBinary) => {
    if (isBinary) state.binary++;
    else texts.push(data.toString());
  });
  const waitText = async (pred: (t: string) => boolean, timeoutMs = 5000) => {
    const start = performance.now();
    while (performance.now() - start < timeoutMs) {
      const hit = texts.find(pred);
      if (hit) return hit;
      await sleep(5);
    }
    throw new Error(`no text message matched; got ${JSON.stringify(texts)}`);
  };
  return { state, waitText };
}

async function serverModeCall(transportData = '') {
  const peer = await startAsteriskPeer();
  const events = await EventLog.open(peer);
  const call = await peer.placeCall({ script: [pause(200), say('sound:hello-world'), pause(4000)] });
  await events.next((e) => e.type === 'StasisStart');
  await ari(peer, 'POST', `/channels/${call.channelId}/answer`);
  const bridge = await ari(peer, 'POST', '/bridges');
  const em = await ari(
    peer, 'POST',
    `/channels/externalMedia?app=ai-agent&transport=websocket&encapsulation=none&connection_type=server&format=ulaw${transportData}`,
  );
  return { peer, events, call, bridge: bridge.json, em: em.json };
}

test('server mode: MEDIA_START first, StasisStart only after the app connects, 160-byte frames every 20 ms', async (t) => {
  const { peer, events, call, bridge, em } = await serverModeCall();
  t.after(async () => (events.close(), await peer.close()));
  assert.match(em.name, /^WebSocket\/INCOMING\/0x/);
  const id = em.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID;
  assert.match(id, /^[0-9a-f-]{36}$/);
  assert.equal(em.channelvars.MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE, '160');
  await sleep(100);
  assert.ok(!events.events.some((e) => e.type === 'StasisStart' && e.channel.id === em.id), 'no StasisStart before connect');

  const bad = new WebSocket(`ws://127.0.0.1:${peer.port}/media/not-an-id`, 'media');
  const badStatus = await new Promise<number>((r) => (bad.on('unexpected-response', (_q, res) => r(res.statusCode!)), bad.on('error', () => {})));
  assert.equal(badStatus, 404);

  const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/media/${id}`, 'media');
  const { state, waitText } = tap(ws);
  await new Promise((r) => ws.once('open', r));
  t.after(() => ws.close());
  assert.equal(ws.protocol, 'media');
  const start = await waitText((x) => x.startsWith('MEDIA_START'));
  assert.equal(start, `MEDIA_START connection_id:${id} channel:${em.name} channel_id:${em.id} format:ulaw optimal_frame_size:160 ptime:20`);
  await events.next((e) => e.type === 'StasisStart' && e.channel.id === em.id);
  const second = new WebSocket(`ws://127.0.0.1:${peer.port}/media/${id}`, 'media');
  assert.equal(await new Promise<number>((r) => (second.on('unexpected-response', (_q, res) => r(res.statusCode!)), second.on('error', () => {}))), 409);

  await ari(peer, 'POST', `/bridges/${bridge.id}/addChannel?channel=${call.channelId},${em.id}`);
  await sleep(1800);
  assert.ok(state.binary >= 65 && state.binary <= 80, `${state.binary} frames`);
  await ari(peer, 'DELETE', `/channels/${call.channelId}`);
  await ari(peer, 'DELETE', `/channels/${em.id}`);
  const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
  assert.equal(code, 1000, 'hangup closes the media socket with 1000');
});

test('flush, marks, buffering, status and XOFF/XON follow chan_websocket', async (t) => {
  const { peer, events, call, bridge, em } = await serverModeCall();
  t.after(async () => (events.close(), await peer.close()));
  const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/media/${em.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID}`, 'media');
  const { state, waitText } = tap(ws);
  await new Promise((r) => ws.once('open', r));
  t.after(() => ws.close());
  await events.next((e) => e.type === 'StasisStart' && e.channel.id === em.id);
  await ari(peer, 'POST', `/bridges/${bridge.id}/addChannel?channel=${call.channelId},${em.id}`);
  const loud = Buffer.alloc(160, 0x10); // µ-law 0x10 decodes to a loud negative level

  // Queue 2 s, flush, and check the queue is empty: the caller hears at most what already played.
  ws.send(Buffer.concat(Array.from({ length: 100 }, () => loud)));
  await sleep(100);
  ws.send('FLUSH_MEDIA');
  ws.send('GET_STATUS');
  const status = await waitText((x) => x.startsWith('STATUS'));
  assert.match(status, new RegExp(`^STATUS channel_id:${em.id} queue_length:0 xon_level:800 xoff_level:900 queue_full:false bulk_media:false media_paused:false$`));

  // A mark is reported when playback reaches it, not when it is received.
  ws.send(Buffer.concat(Array.from({ length: 10 }, () => loud)));
  const markSent = performance.now();
  ws.send('MARK_MEDIA m1');
  await waitText((x) => x === 'MEDIA_MARK_PROCESSED m1');
  assert.ok(performance.now() - markSent >= 150, 'mark processed after the 200 ms ahead of it played');

  // Bulk mode keeps partial frames across messages and pads the tail on STOP.
  ws.send('START_MEDIA_BUFFERING');
  ws.send(loud.subarray(0, 100));
  ws.send(loud.subarray(0, 100));
  ws.send('STOP_MEDIA_BUFFERING b1');
  ws.send('GET_STATUS');
  assert.match(await waitText((x) => x.startsWith('STATUS') && x !== status), /queue_length:2 .*bulk_media:false/);
  await waitText((x) => x === 'MEDIA_BUFFERING_COMPLETED b1');

  // XOFF at 900 queued frames, XON once it drains below 800.
  ws.send(Buffer.concat(Array.from({ length: 400 }, () => loud)));
  ws.send(Buffer.concat(Array.from({ length: 400 }, () => loud)));
  ws.send(Buffer.concat(Array.from({ length: 150 }, () => loud)));
  await waitText((x) => x === 'MEDIA_XOFF');
  ws.send('GET_STATUS');
  assert.match(await waitText((x) => /queue_full:true/.test(x)), /queue_length:9\d\d/);
  ws.send('FLUSH_MEDIA');
  await waitText((x) => x === 'MEDIA_XON');
  ws.send('HANGUP');
  await events.next((e) => e.type === 'ChannelDestroyed' && e.channel.id === em.id);
  assert.ok(state.binary > 0);
});

test('transport_data=f(json) switches control messages to JSON', async (t) => {
  const { peer, events, em } = await serverModeCall('&transport_data=f(json)');
  t.after(async () => (events.close(), await peer.close()));
  const ws = new WebSocket(`ws://127.0.0.1:${peer.port}/media/${em.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID}`, 'media');
  const { waitText } = tap(ws);
  await new Promise((r) => ws.once('open', r));
  t.after(() => ws.close());
  const start = JSON.parse(await waitText((x) => x.includes('MEDIA_START')));
  assert.equal(start.event, 'MEDIA_START');
  assert.equal(start.optimal_frame_size, 160);
  assert.equal(start.channel_variables.MEDIA_WEBSOCKET_CONNECTION_ID, em.channelvars.MEDIA_WEBSOCKET_CONNECTION_ID);
  ws.send(JSON.stringify({ command: 'MARK_MEDIA', correlation_id: 'j1' }));
  const mark = JSON.parse(await waitText((x) => x.includes('MEDIA_MARK_PROCESSED')));
  assert.deepEqual(mark, { event: 'MEDIA_MARK_PROCESSED', channel_id: em.id, correlation_id: 'j1' });
  ws.send('not json');
  assert.equal(JSON.parse(await waitText((x) => x.includes('ERROR'))).error_text, 'Unable to parse JSON command');
});

test('client mode: Dial(WebSocket/conn/c(ulaw)) connects out with protocol media and closes with 1000 on hangup', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has('media') ? 'media' : false) });
  t.after(() => wss.close());
  await new Promise((r) => wss.once('listening', r));
  const port = (wss.address() as { port: number }).port;
  const got = new Promise<{ first: string; binary: number; code: number; dtmf: string | undefined }>((resolve) => {
    wss.on('connection', (ws) => {
      const texts: string[] = [];
      let binary = 0;
      ws.on('message', (d, isBinary) => (isBinary ? binary++ : texts.push(d.toString())));
      // Agent audio back: 25 frames, heard by the caller.
      ws.send(Buffer.alloc(160 * 25, 0x10));
      ws.on('close', (code) => resolve({ first: texts[0], binary, code, dtmf: texts.find((x) => x.startsWith('DTMF_END')) }));
    });
  });
  const call = await placeWebSocketMediaCall({ url: `ws://127.0.0.1:${port}/`, connectionName: 'media_connection1', script: [say('sound:hello-world'), { dtmf: '5' }, pause(300)] });
  const report = await call.done;
  const r = await got;
  assert.match(r.first, /^MEDIA_START connection_id:media_connection1 channel:WebSocket\/media_connection1\/0x[0-9a-f]+ channel_id:\S+ format:ulaw optimal_frame_size:160 ptime:20$/);
  assert.ok(r.binary >= 65);
  assert.equal(r.code, 1000);
  assert.match(r.dtmf ?? '', /^DTMF_END digit:5 channel_id:/);
  assert.ok(report.firstAgentAudioMs !== null && report.agentSpurts.length === 1);
});
