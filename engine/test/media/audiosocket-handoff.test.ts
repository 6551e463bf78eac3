// A dialplan AudioSocket connection one engine process accepts and passes on (shards): the UUID is read where the
// connection came in; every byte after it, even bytes that arrived in the same read, reaches the server that takes
// the call, and the connection goes on there. Two real listeners, a real TCP client speaking AudioSocket framing.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { sourceAllowlist } from '@ai-agent/common';
import { Pacer } from '../../src/audio/pacer.ts';
import { AudioSocketServer } from '../../src/transport/audiosocket/audiosocket-server.ts';
import type { AudioSocketStream } from '../../src/transport/audiosocket/audiosocket-stream.ts';
import { sleep, testLogger } from './helpers.ts';

const pacer = new Pacer();
const log = testLogger();
const first = new AudioSocketServer({ log, host: '127.0.0.1', port: 0, pacer });
const second = new AudioSocketServer({ log, host: '127.0.0.1', port: 0, pacer });
after(async () => {
  await first.close();
  await second.close();
});

function frame(kind: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([kind, payload.length >> 8, payload.length & 0xff]), payload]);
}

test('a connection handed over after its UUID keeps every frame that came with it, and goes on where it went', async (t) => {
  first.acceptDialplanCalls(sourceAllowlist(['127.0.0.1/8']));
  const { port } = await first.listen();
  const handedOver: string[] = [];
  first.handOffDialplanCalls((uuid) => (socket, rest) => {
    handedOver.push(uuid);
    second.adopt(socket, uuid, rest);
  });
  const keptHere: AudioSocketStream[] = [];
  first.on('call', (stream) => keptHere.push(stream));
  const digits: string[] = [];
  const call = new Promise<AudioSocketStream>((resolve) =>
    second.once('call', (stream) => {
      // Subscribed as the call is announced: the bytes that came with the UUID are parsed right after.
      stream.on('dtmf', (digit) => digits.push(digit));
      resolve(stream);
    }),
  );

  const client = connect(port, '127.0.0.1');
  t.after(() => client.destroy());
  await once(client, 'connect');
  const uuid = randomUUID();
  // The UUID, two digits and a 20 ms audio frame in one write: one read where the connection comes in.
  client.write(Buffer.concat([frame(0x01, Buffer.from(uuid.replaceAll('-', ''), 'hex')), frame(0x03, Buffer.from('4')), frame(0x03, Buffer.from('2')), frame(0x10, Buffer.alloc(320))]));
  const stream = await call;
  assert.deepEqual(handedOver, [uuid]);
  assert.equal(stream.id, uuid);
  assert.equal(keptHere.length, 0, 'the first server made no call of it');
  await sleep(50);
  assert.deepEqual(digits, ['4', '2'], 'the frames read with the UUID reach the server that took the call');
  assert.equal(first.counters.active, 0, 'the first server no longer holds the connection');
  assert.equal(second.counters.active, 1);
  assert.equal(first.counters.connections + second.counters.connections, 1, 'one connection, counted once');

  // Later bytes go straight to the second server, and the call ends there when the caller hangs up.
  client.write(frame(0x03, Buffer.from('7')));
  for (let i = 0; i < 50 && digits.length < 3; i++) await sleep(20);
  assert.deepEqual(digits, ['4', '2', '7']);
  const closed = once(stream, 'close');
  client.write(frame(0x00, Buffer.alloc(0)));
  await closed;
});
