// The demo Asterisk's call API: `POST /calls` places one scripted call into the running stack and answers
// with the caller's report when the call has ended. Loopback only, and only with the run file's token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { bearerToken, safeEqual, type Logger } from '@ai-agent/common';
import type { AsteriskPeer } from '../peer.ts';
import { encodeReport, parseCallRequest } from './call-wire.ts';

const MAX_BODY_BYTES = 256 * 1024;

export interface CallApi {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function startCallApi(opts: { peer: AsteriskPeer; token: string; defaultApp: string; log: Logger }): Promise<CallApi> {
  const { peer, token, log } = opts;
  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) log.error({ reason: (err as Error).message }, 'call API request failed');
      else log.info({ status, reason: (err as Error).message }, 'call API request refused');
      if (!res.headersSent) send(res, status, { error: status === 401 ? 'unauthorized' : (err as Error).message });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const presented = bearerToken(req.headers.authorization);
    if (!presented || !safeEqual(presented, token)) throw new HttpError(401, 'missing or wrong token');
    if (req.method !== 'POST' || req.url !== '/calls') throw new HttpError(404, 'no such route (POST /calls places a call)');
    let call;
    try {
      call = parseCallRequest(JSON.parse(await readBody(req)));
    } catch (err) {
      throw err instanceof HttpError ? err : new HttpError(400, (err as Error).message);
    }
    // Preparing the caller's audio fails on a reference that does not resolve (a missing prompt or file).
    const placed = await peer.placeCall({ ...call, app: call.app ?? opts.defaultApp }).catch((err: Error) => {
      throw new HttpError(422, err.message);
    });
    log.info({ channelId: placed.channelId }, 'demo call placed');
    // Whoever asked went away (Ctrl-C on `npm run call`): the caller hangs up too.
    res.once('close', () => {
      if (!res.writableFinished) placed.session.hangup();
    });
    const report = await placed.done;
    send(res, 200, { channelId: placed.channelId, report: encodeReport(report) });
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}
