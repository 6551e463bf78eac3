import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/** Whether a listener could bind there now: the only proof is binding, and letting go at once. */
export type PortState = { state: 'free' } | { state: 'in_use' } | { state: 'error'; reason: string };

const REASONS: Record<string, string> = {
  EADDRNOTAVAIL: 'that address is not on this host',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EAFNOSUPPORT: 'address family not supported here',
};

function outcome(err: NodeJS.ErrnoException): PortState {
  if (err.code === 'EADDRINUSE') return { state: 'in_use' };
  return { state: 'error', reason: (err.code && REASONS[err.code]) ?? err.message };
}

export function probeTcp(host: string, port: number): Promise<PortState> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(outcome(err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve({ state: 'free' })));
  });
}

export function probeUdp(host: string, port: number): Promise<PortState> {
  return new Promise((resolve) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (err: NodeJS.ErrnoException) => {
      socket.close();
      resolve(outcome(err));
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve({ state: 'free' })));
  });
}
