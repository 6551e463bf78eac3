import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (IPv6 in brackets). */
  readonly origin: string;
  readonly requests: SeenRequest[];
  /** Answers requests to `path` (without the query); other paths get 200 `{"ok":true}`. */
  route(path: string, handler: (req: SeenRequest, res: ServerResponse) => void): void;
  close(): Promise<void>;
}

/** An HTTP server on `host` that records every request it gets: a hit on a server a test must not reach fails it. */
export async function startTestServer(host = '127.0.0.1'): Promise<TestServer> {
  const routes = new Map<string, (req: SeenRequest, res: ServerResponse) => void>();
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(seen);
      const handler = routes.get((req.url ?? '').split('?')[0]!);
      if (handler) handler(seen, res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host,
    port,
    origin: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    requests,
    route: (path, handler) => void routes.set(path, handler),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
