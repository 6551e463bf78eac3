// Records the arrival time of each UDP datagram in a separate process, so wire timing is measured
// independently of the sender's event loop. Prints its port, then a JSON array of arrival times (ms).
import { createSocket } from 'node:dgram';

const count = Number(process.argv[2] ?? 200);
const times = [];
const socket = createSocket('udp4');
socket.on('message', () => {
  times.push(Number(process.hrtime.bigint()) / 1e6);
  if (times.length === count) {
    socket.close();
    process.stdout.write(JSON.stringify(times) + '\n');
  }
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(`${socket.address().port}\n`));
