// Records the arrival time, RTP sequence and timestamp of each UDP datagram in a separate process, so wire
// timing is measured independently of the sender's event loop. It also watches its own event loop: this
// process does almost nothing, so any delay there means the OS did not run it on time (CPU contention)
// and its arrival times around then are late by that much. Prints its port, then one JSON line:
// { times: ms[], sequences: number[], timestamps: number[], selfDelayMaxMs }.
import { createSocket } from 'node:dgram';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const count = Number(process.argv[2] ?? 200);
const times = [];
const sequences = [];
const timestamps = [];
const delay = monitorEventLoopDelay({ resolution: 1 });
const socket = createSocket('udp4');
socket.on('message', (msg) => {
  times.push(Number(process.hrtime.bigint()) / 1e6);
  if (times.length === 1) delay.enable();
  sequences.push(msg.length >= 12 ? msg.readUInt16BE(2) : -1);
  timestamps.push(msg.length >= 12 ? msg.readUInt32BE(4) : -1);
  if (times.length === count) {
    delay.disable();
    socket.close();
    // The histogram holds the intervals of a 1 ms timer: beyond 1 ms is how long this process was held up.
    const selfDelayMaxMs = Math.max(0, delay.max / 1e6 - 1);
    process.stdout.write(`${JSON.stringify({ times, sequences, timestamps, selfDelayMaxMs })}\n`);
  }
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(`${socket.address().port}\n`));
