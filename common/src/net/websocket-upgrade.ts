// WebSocket upgrades through a service's ordinary HTTP routes. Node hands an `Upgrade:` request to the server's
// 'upgrade' event, past every hook and guard of the web framework. Dispatching it to the framework's router
// instead (with a response bound to the socket) makes a WebSocket route pass the same Host/Origin checks,
// authentication, scopes and rate limits as any other route; a refusal is an ordinary HTTP answer. Only a
// route handler that decides to accept calls `takeUpgrade` and completes the handshake.
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export interface PendingUpgrade {
  socket: Duplex;
  head: Buffer;
}

/** What the dispatcher needs of a web framework: its HTTP server and its request router (Fastify: `app`). */
export interface UpgradeRouter {
  readonly server: Server;
  routing(req: IncomingMessage, res: ServerResponse): void;
}

const pending = new WeakMap<IncomingMessage, PendingUpgrade & { res: ServerResponse }>();
const routed = new WeakSet<Server>();

/** Sends every upgrade request on `app`'s server through its routes. Idempotent. */
export function routeUpgrades(app: UpgradeRouter): void {
  if (routed.has(app.server)) return;
  routed.add(app.server);
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const res = new ServerResponse(req);
    pending.set(req, { socket, head, res });
    // A refusal ends the connection: the socket was never the server's to keep alive.
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    res.once('finish', () => {
      pending.delete(req);
      socket.end();
      socket.once('finish', () => socket.destroy());
    });
    try {
      app.routing(req, res);
    } catch {
      socket.destroy();
    }
  });
}

/**
 * The socket of an upgrade request the route is about to accept (undefined for a plain request). Taking it
 * detaches the response bound to it: the WebSocket server writes the handshake itself.
 */
export function takeUpgrade(req: IncomingMessage): PendingUpgrade | undefined {
  const upgrade = pending.get(req);
  pending.delete(req);
  if (!upgrade) return undefined;
  upgrade.res.detachSocket(upgrade.socket as Socket);
  return { socket: upgrade.socket, head: upgrade.head };
}
