import { test } from 'node:test';
import assert from 'node:assert/strict';
import ari from 'ari-client';
import { startAsteriskPeer, pause, say, rms, type CallerSession } from '../src/index.ts';

// What a warm transfer asks of Asterisk, as the peer models it: music on hold on a channel, a dialled endpoint
// that is busy or answered by a scripted person, and a channel bridged muted.

/** Share of `x`'s energy at `freq` (Goertzel). */
function toneShare(x: Int16Array, freq: number): number {
  const w = (2 * Math.PI * freq) / 8000;
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (const v of x) {
    const s0 = v + 2 * Math.cos(w) * s1 - s2;
    s2 = s1;
    s1 = s0;
    energy += v * v;
  }
  return energy === 0 ? 0 : (s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2) / ((energy * x.length) / 2);
}

test('music on hold, a busy endpoint, and a person answering into a muted bridge', async (t) => {
  let person: CallerSession | undefined;
  const peer = await startAsteriskPeer({
    username: 'e',
    password: 'p',
    endpoints: {
      'PJSIP/busy': { busyAfterMs: 100 },
      'PJSIP/desk': { answerAfterMs: 200, person: { script: [say('tone:dial'), say('tone:dial'), pause(300)], onAnswer: (s) => (person = s) } },
    },
  });
  t.after(() => peer.close());
  const client: any = await ari.connect(peer.url, 'e', 'p');
  t.after(() => client.stop());
  const events: any[] = [];
  client.on('*', (e: any) => events.push(e));
  const callerIn = new Promise<any>((resolve) => client.on('StasisStart', (e: any, ch: any) => ch.name.startsWith('PJSIP/desk') || resolve(ch)));
  const deskIn = new Promise<any>((resolve) => client.on('StasisStart', (e: any, ch: any) => ch.name.startsWith('PJSIP/desk') && resolve(e)));
  await client.start('ai-agent');

  const call = await peer.placeCall({ script: [pause(3000)], answered: true });
  const caller = await callerIn;
  await client.channels.startMoh({ channelId: caller.id, mohClass: 'default' });

  // Busy: a Dial BUSY, then the channel is destroyed with cause 17.
  const busy = await client.channels.originate({ endpoint: 'PJSIP/busy', app: 'ai-agent', appArgs: 'warm-transfer,x', timeout: 5 });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(events.some((e) => e.type === 'Dial' && e.peer?.id === busy.id && e.dialstatus === 'BUSY'));
  const destroyed = events.find((e) => e.type === 'ChannelDestroyed' && e.channel.id === busy.id);
  assert.equal(destroyed?.cause, 17);
  assert.equal(destroyed?.cause_txt, 'User busy');

  // Answered: StasisStart with the app args, then bridged muted: the caller, in the same bridge once the music
  // stops, does not hear the person's tones.
  await client.channels.originate({ endpoint: 'PJSIP/desk', app: 'ai-agent', appArgs: 'warm-transfer,x', timeout: 5 });
  const answered = await deskIn;
  assert.deepEqual(answered.args, ['warm-transfer', 'x']);
  const bridge = await client.bridges.create({ type: 'mixing' });
  await client.bridges.addChannel({ bridgeId: bridge.id, channel: answered.channel.id, mute: true });
  await new Promise((r) => setTimeout(r, 600));
  await client.channels.stopMoh({ channelId: caller.id });
  await client.bridges.addChannel({ bridgeId: bridge.id, channel: caller.id });
  await assert.rejects(client.channels.startMoh({ channelId: 'nope' }), /Channel not found/);

  const report = await call.done;
  const on = report.transcript.find((e) => e.text === 'music on hold started (class default)');
  const off = report.transcript.find((e) => e.text === 'music on hold stopped');
  assert.ok(on && off, JSON.stringify(report.transcript));
  const started = report.transcript.find((e) => e.text === 'call started')!.atMs;
  const held = report.recording.subarray((on.atMs - started + 100) * 8, (off.atMs - started) * 8);
  assert.ok(held.length > 4000 && rms(held) > 1000, `music on hold is audible (${rms(held)})`);
  // In 50 ms blocks (each note is 250 ms, its phase restarting): most blocks are one of the notes.
  let musical = 0;
  let blocks = 0;
  for (let i = 0; i + 400 <= held.length; i += 400, blocks++) {
    const block = held.subarray(i, i + 400);
    if ([523.25, 659.25, 783.99].reduce((s, f) => s + toneShare(block, f), 0) > 0.6) musical++;
  }
  assert.ok(musical > blocks * 0.7, `and is the hold music, not ringback (${musical} of ${blocks} blocks)`);
  const after = report.recording.subarray((off.atMs - started + 100) * 8);
  assert.ok(person, 'the person answered');
  assert.ok(rms(after) < 50, `neither music once stopped nor the muted person: ${rms(after)}`);
  const personReport = await person.done;
  assert.ok(personReport.transcript.some((e) => /says tone:dial/.test(e.text)), 'the person did speak');
});
