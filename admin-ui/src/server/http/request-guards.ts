import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * DNS-rebinding and cross-site defence applied to every request, static files included: the Host header must
 * name this server (a rebinding page on evil.example resolves to 127.0.0.1 but still sends its own name), and an
 * Origin header, when a browser sends one, must name an allowed host too.
 */
export function hostGuard(allowed: () => readonly string[]) {
  const permits = (host: string | undefined): boolean => {
    if (!host) return false;
    const value = host.toLowerCase();
    const bare = value.replace(/:\d+$/, '');
    // An entry without a port (e.g. the name a TLS reverse proxy forwards) accepts that name on any port.
    return allowed().some((entry) => entry === value || entry === bare);
  };
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    let originOk = true;
    const origin = request.headers.origin;
    if (origin !== undefined) {
      try {
        originOk = origin !== 'null' && permits(new URL(origin).host);
      } catch {
        originOk = false;
      }
    }
    if (permits(request.headers.host) && originOk) return;
    request.log.warn({ reqId: request.id, reason: originOk ? 'host not allowed' : 'origin not allowed' }, 'request refused');
    await reply.code(403).send({ error: 'forbidden' });
  };
}
