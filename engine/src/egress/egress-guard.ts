import { EgressAllowlist, effectiveIp, formatIp, normalizeHost, parseIp, specialRange, type EgressRule } from '@ai-agent/common';
import { EgressError } from './egress-error.ts';
import type { HostResolver } from './host-resolver.ts';

/** The one address a request connects to: checked, so nothing resolves the name again in between. */
export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Decides whether a URL may be requested and where the connection goes. The URL must pass the allowlist
 * (scheme, no credentials, host by name or address, plain http only where allowed); then every address its
 * host resolves to must be public or inside an allowlisted CIDR — one special address (loopback, private,
 * link-local, metadata, …) refuses the whole request, so a name cannot mix a public answer with an internal one.
 */
export class EgressGuard {
  constructor(private readonly allowlist: EgressAllowlist, private readonly resolver: HostResolver) {}

  /** The same guard with more allowed destinations (a context's own rules). */
  with(rules: readonly EgressRule[]): EgressGuard {
    return rules.length === 0 ? this : new EgressGuard(this.allowlist.with(rules), this.resolver);
  }

  async pin(url: URL): Promise<PinnedAddress> {
    const refusal = this.allowlist.refusal(url);
    if (refusal) throw new EgressError('refused', refusal);
    const host = normalizeHost(url.hostname);
    const literal = parseIp(host);
    const addresses = literal ? [host] : await this.resolver.resolve(host);
    let pinned: PinnedAddress | null = null;
    for (const text of addresses) {
      const ip = parseIp(text);
      if (!ip) throw new EgressError('refused', `${host} resolved to something that is not an address`);
      const special = specialRange(ip);
      if (special && !this.allowlist.addressRule(ip)) {
        const via = literal ? '' : `${host} resolves to `;
        throw new EgressError('refused', `${via}${text}, a ${special} address, which the egress allowlist does not allow`);
      }
      // IPv4-mapped and -compatible forms connect as the IPv4 address they stand for.
      const target = effectiveIp(ip);
      pinned ??= { address: formatIp(target), family: target.family };
    }
    if (!pinned) throw new EgressError('dns', `${host} has no addresses`);
    return pinned;
  }
}
