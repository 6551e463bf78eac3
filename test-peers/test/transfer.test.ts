import { test } from 'node:test';
import assert from 'node:assert/strict';
import ari from 'ari-client';
import { startAsteriskPeer, pause } from '../src/index.ts';
import { audibleFrames } from './helpers.ts';

/** Energy of `freq` in a block (Goertzel), normalised by block energy. */
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
  const power = s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2;
  return energy === 0 ? 0 : power / (energy * x.length / 2);
}

test('blind transfer: after continueInDialplan the caller hears ringback; originate dials an endpoint into the app', async (t) => {
  const peer = await startAsteriskPeer({ username: 'e', password: 'p', endpoints: { 'PJSIP/agent': { answerAfterMs: 300 } } });
  t.after(() => peer.close());
  const client: any = await ari.connect(peer.url, 'e', 'p');
  t.after(() => client.stop());
  const types: string[] = [];
  client.on('*', (e: any) => types.push(`${e.type}:${e.channel?.name ?? e.peer?.name ?? ''}`));
  const agentStarted = new Promise<any>((resolve) =>
    client.on('StasisStart', async (e: any, channel: any) => {
      if (channel.name.startsWith('PJSIP/agent')) return resolve(e);
      await channel.answer();
      await client.channels.originate({ endpoint: 'PJSIP/agent', app: 'ai-agent', appArgs: 'transfer', callerId: 'Bot <100>' });
      setTimeout(() => channel.continueInDialplan({ context: 'transfer', extension: '200', priority: 1 }), 200);
    }),
  );
  await client.start('ai-agent');
  const call = await peer.placeCall({ script: [pause(2500)] });
  const started = await agentStarted;
  assert.deepEqual(started.args, ['transfer']);
  assert.equal(started.channel.state, 'Up');
  assert.ok(types.indexOf('Dial:' + started.channel.name) >= 0);
  const report = await call.done;
  assert.ok(report.transcript.some((e) => /continued in dialplan to transfer,200,1; ringing/.test(e.text)));
  const tail = report.recording.subarray(report.recording.length - 8000 * 1.5);
  assert.ok(audibleFrames(tail) > 50, 'ringback is audible');
  assert.ok(toneShare(tail, 440) > 0.2 && toneShare(tail, 480) > 0.2, 'ringback is 440+480 Hz');
  assert.equal(report.firstAgentAudioMs, null, 'ringback is not agent audio');
});
