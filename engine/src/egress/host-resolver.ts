import { lookup, Resolver } from 'node:dns/promises';
import { EgressError } from './egress-error.ts';

/** Longest wait for one DNS answer before the lookup fails. */
const DNS_TIMEOUT_MS = 2000;

/**
 * Resolves a host name to every address it has, so the egress guard can judge them all before connecting.
 * Configured servers (`egress.dns_servers`) are asked for A and AAAA records; without them the system
 * resolver is used (getaddrinfo: /etc/hosts included).
 */
export class HostResolver {
  private readonly resolver: Resolver | null;

  constructor(servers: readonly string[]) {
    if (servers.length === 0) {
      this.resolver = null;
      return;
    }
    this.resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
    this.resolver.setServers([...servers]);
  }

  async resolve(host: string): Promise<string[]> {
    if (!this.resolver) {
      try {
        return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
      } catch (err) {
        throw new EgressError('dns', `cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(host), this.resolver.resolve6(host)]);
    const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
    if (addresses.length === 0) {
      const failed = [v4, v6].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      throw new EgressError('dns', `cannot resolve ${host} (${(failed?.reason as NodeJS.ErrnoException | undefined)?.code ?? 'no addresses'})`);
    }
    return addresses;
  }
}
