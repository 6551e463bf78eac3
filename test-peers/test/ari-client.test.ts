import { test } from 'node:test';
import assert from 'node:assert/strict';
import ari from 'ari-client';
import { startAsteriskPeer, say, pause, waitForAgent, parseRtp, ulawRtpPacket, isAudible, ulawDecode } from '../src/index.ts';
import { udpSocket } from './helpers.ts';

test('ari-client 2.2.0 connects and drives a full ExternalMedia call; events arrive in Asterisk order', async (t) => {
  // StasisStart comes a few ms after the externalMedia reply on Asterisk; here later, so that a busy host (the
  // client's next request slower than those few ms) cannot reorder what the test checks.
  const peer = await startAsteriskPeer({ username: 'engine', password: 'pw', mediaStasisStartDelayMs: 300 });
  t.after(() => peer.close());
  const rtp = await udpSocket();
  t.after(() => rtp.socket.close());

  // The engine side: a minimal Stasis app written against ari-client, as the real engine is.
  const client: any = await ari.connect(peer.url, 'engine', 'pw');
  t.after(() => client.stop());
  const events: any[] = [];
  client.on('*', (e: any) => events.push(e));
  let received = 0;
  let audible = 0;
  rtp.socket.on('message', (msg, rinfo) => {
    received++;
    const h = parseRtp(msg)!;
    const pcm = new Int16Array(h.payloadEnd - h.payloadOffset);
    ulawDecode(msg.subarray(h.payloadOffset, h.payloadEnd), pcm);
    if (isAudible(pcm)) audible++;
    rtp.socket.send(msg, rinfo.port, rinfo.address); // echo: the agent "speaks" what it hears
  });
  // Once bridged, the "agent" greets with a short tone: the caller's script waits for it, so on a slow host no
  // caller speech is sent before the media path exists and the packet count below is exact.
  const greet = (port: number) => {
    const tone = new Int16Array(160).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
    for (let seq = 0; seq < 5; seq++) rtp.socket.send(ulawRtpPacket(tone, seq, 0x1234), port, '127.0.0.1');
  };
  const inStasis = new Set<string>();
  const entered = (id: string) => new Promise<void>((resolve) => {
    if (inStasis.has(id)) return resolve();
    client.on('StasisStart', (_e: any, channel: any) => channel.id === id && resolve());
  });
  const setup = new Promise<{ bridgeId: string; emId: string; vars: any }>((resolve, reject) => {
    client.on('StasisStart', async (event: any, channel: any) => {
      inStasis.add(channel.id);
      if (!channel.name.startsWith('PJSIP/')) return;
      try {
        assert.deepEqual(event.args, ['inbound', '1234']);
        assert.equal(channel.state, 'Ring');
        assert.deepEqual(channel.caller, { name: 'Alice', number: '5551234' });
        assert.equal(channel.channelvars.AI_CONTEXT, 'sales');
        const v = await channel.getChannelVar({ variable: 'AI_CONTEXT' });
        assert.equal(v.value, 'sales');
        await channel.answer();
        const bridge = client.Bridge();
        await bridge.create({ type: 'mixing' });
        const em = client.Channel();
        const created = await em.externalMedia({ app: 'ai-agent', external_host: `127.0.0.1:${rtp.port}`, format: 'ulaw' });
        // As on Asterisk, the reply comes before the channel enters the app: bridging it now is refused.
        await assert.rejects(bridge.addChannel({ channel: [channel.id, created.id] }), /Channel not in Stasis application/);
        await entered(created.id);
        await bridge.addChannel({ channel: [channel.id, created.id] });
        greet(Number(created.channelvars.UNICASTRTP_LOCAL_PORT));
        resolve({ bridgeId: bridge.id, emId: created.id, vars: created.channelvars });
      } catch (err) {
        reject(err);
      }
    });
  });
  await client.start('ai-agent');

  const call = await peer.placeCall({
    args: ['inbound', '1234'],
    variables: { AI_CONTEXT: 'sales' },
    callerId: { number: '5551234', name: 'Alice' },
    script: [waitForAgent(10_000), pause(200), say('sound:hello-world'), pause(400)],
  });
  const { emId, vars } = await setup;
  assert.equal(vars.UNICASTRTP_LOCAL_ADDRESS, '127.0.0.1');
  assert.match(vars.UNICASTRTP_LOCAL_PORT, /^\d+$/);
  const report = await call.done;
  await new Promise((r) => setTimeout(r, 100));

  // Media: the prompt went out whole as 1.404 s of 20 ms PCMU packets and its echo came back to the caller.
  assert.ok(received >= 70 && received <= 72, `received ${received} packets`);
  assert.ok(audible > 40);
  assert.ok(report.firstAgentAudioMs !== null, 'the caller heard the agent');
  const heardSamples = report.recording.filter((s) => Math.abs(s) > 500).length;
  assert.ok(heardSamples > 2000, 'the recording holds the agent audio');

  const callerId = call.channelId;
  const order = events
    .filter((e) => e.channel?.id === callerId || e.peer?.id === callerId)
    .map((e) => e.type);
  assert.deepEqual(order, ['StasisStart', 'ChannelStateChange', 'ChannelEnteredBridge', 'ChannelHangupRequest', 'ChannelLeftBridge', 'StasisEnd']);
  const hangupRequest = events.find((e) => e.type === 'ChannelHangupRequest' && e.channel.id === callerId);
  assert.equal(hangupRequest.cause, 16);
  const emOrder = events.filter((e) => e.channel?.id === emId || e.peer?.id === emId).map((e) => e.type);
  assert.deepEqual(emOrder, ['Dial', 'ChannelStateChange', 'Dial', 'ChannelVarset', 'StasisStart', 'ChannelEnteredBridge']);

  // The ExternalMedia channel outlives the caller until the app hangs it up.
  const em = await client.channels.get({ channelId: emId });
  assert.equal(em.state, 'Up');
  await client.channels.hangup({ channelId: emId });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(
    events.filter((e) => e.channel?.id === emId).map((e) => e.type).slice(-4),
    ['ChannelHangupRequest', 'ChannelLeftBridge', 'StasisEnd', 'ChannelDestroyed'],
  );
  await assert.rejects(client.channels.get({ channelId: emId }), /Channel not found/);
});

test('ari-client: playback to a channel plays a Debian prompt the caller hears, then PlaybackFinished', async (t) => {
  const peer = await startAsteriskPeer({ username: 'engine', password: 'pw' });
  t.after(() => peer.close());
  const client: any = await ari.connect(peer.url, 'engine', 'pw');
  t.after(() => client.stop());
  const events: string[] = [];
  client.on('*', (e: any) => events.push(e.type));
  const finished = new Promise<any>((resolve) => client.on('PlaybackFinished', (e: any) => resolve(e)));
  client.on('StasisStart', async (_e: any, channel: any) => {
    await channel.answer();
    const playback = client.Playback();
    const pb = await channel.play({ media: 'sound:demo-thanks' }, playback);
    assert.equal(pb.state, 'queued');
    assert.equal(pb.target_uri, `channel:${channel.id}`);
  });
  await client.start('ai-agent');
  const call = await peer.placeCall({ script: [waitForAgent(5000), pause(4000)] });
  const e = await finished;
  assert.equal(e.playback.state, 'done');
  assert.equal(e.playback.media_uri, 'sound:demo-thanks');
  const report = await call.done;
  assert.ok(events.indexOf('PlaybackStarted') < events.indexOf('PlaybackFinished'));
  assert.ok(report.recording.some((s) => Math.abs(s) > 1000), 'the caller heard the prompt');
  assert.ok(report.firstAgentAudioMs !== null && report.firstAgentAudioMs < 500);
});
