import { once } from 'node:events';
import { createConnection, createServer, type Socket } from 'node:net';

/** A simple-protocol COMMIT as the pg client sends it: 'Q', length 11 (4 + "COMMIT\0"), the text. */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from([0x51, 0, 0, 0, 11]), Buffer.from('COMMIT\0', 'latin1')]);

/**
 * A TCP relay to a PostgreSQL server that, once armed, lets the next COMMIT through and then cuts the connection
 * before the server's answer comes back: the client cannot know whether its transaction was stored.
 */
export interface CommitCuttingProxy {
  port: number;
  /** Cut the next connection that sends a COMMIT; resolves when it has been cut. */
  cutNextCommit(): Promise<void>;
  close(): Promise<void>;
}

export async function startCommitCuttingProxy(target: { host: string; port: number }): Promise<CommitCuttingProxy> {
  const sockets = new Set<Socket>();
  let armed: (() => void) | null = null;
  const server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    let cutting = false;
    client.on('data', (chunk) => {
      upstream.write(chunk);
      if (armed && chunk.includes(COMMIT_MESSAGE)) {
        const done = armed;
        armed = null;
        cutting = true;
        // Long enough for the server to commit; its answer is never relayed.
        setTimeout(() => {
          client.destroy();
          upstream.destroy();
          done();
        }, 100);
      }
    });
    upstream.on('data', (chunk) => {
      if (!cutting) client.write(chunk);
    });
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', drop).on('error', drop);
    upstream.on('close', drop).on('error', drop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    cutNextCommit: () => new Promise<void>((resolve) => (armed = resolve)),
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
