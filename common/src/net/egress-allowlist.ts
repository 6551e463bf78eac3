// Which outbound destinations an operator allowed: host names (exact, or `*.domain` for its subdomains) and
// address ranges (CIDR), each optionally allowing plain http. Pure matching, shared by config validation
// (a tool or webhook URL outside the list is a config error) and the engine's egress guard.
import { cidrContains, effectiveIp, parseCidr, parseIp, type Cidr, type IpAddress } from './ip-address.ts';

export interface EgressRule {
  /** `api.example.com`, or `*.example.com` for every subdomain (not the domain itself). */
  host?: string;
  /** `203.0.113.0/24`, `10.1.2.3/32`, `fd00::/8`: addresses a request may reach, special ranges included. */
  cidr?: string;
  /** Plain http allowed (default: https only). */
  http?: boolean;
}

/** A URL host as matched: lowercase, without the brackets of an IPv6 literal or a trailing dot. */
export function normalizeHost(hostname: string): string {
  const lower = hostname.toLowerCase();
  const bare = lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
  return bare.endsWith('.') ? bare.slice(0, -1) : bare;
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}

export class EgressAllowlist {
  private readonly hosts: Array<{ pattern: string; rule: EgressRule }> = [];
  private readonly cidrs: Array<{ cidr: Cidr; rule: EgressRule }> = [];

  constructor(private readonly rules: readonly EgressRule[]) {
    for (const rule of rules) {
      if (rule.host) this.hosts.push({ pattern: normalizeHost(rule.host), rule });
      if (rule.cidr) {
        const cidr = parseCidr(rule.cidr);
        if (!cidr) throw new Error(`invalid CIDR ${rule.cidr}`);
        this.cidrs.push({ cidr, rule });
      }
    }
  }

  /** The list plus more rules (a context's own on top of the global ones). */
  with(rules: readonly EgressRule[]): EgressAllowlist {
    return new EgressAllowlist([...this.rules, ...rules]);
  }

  /** The rule allowing an address (its IPv4 form for IPv4-mapped/compatible IPv6), if any. */
  addressRule(ip: IpAddress): EgressRule | undefined {
    const target = effectiveIp(ip);
    return this.cidrs.find(({ cidr }) => cidrContains(cidr, target) || cidrContains(cidr, ip))?.rule;
  }

  /**
   * The rule allowing a URL host: a name by a host rule, an address literal by a CIDR rule. Undefined when
   * nothing allows it.
   */
  hostRule(hostname: string): EgressRule | undefined {
    const host = normalizeHost(hostname);
    const ip = parseIp(host);
    if (ip) return this.addressRule(ip);
    return this.hosts.find(({ pattern }) => hostMatches(pattern, host))?.rule;
  }

  /** Why `url` may not be requested under this list (scheme, host, plain http), or null when it may. */
  refusal(url: URL): string | null {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return `scheme ${url.protocol} is not allowed`;
    if (url.username || url.password) return 'URLs with credentials (user@host) are not allowed';
    const rule = this.hostRule(url.hostname);
    if (!rule) return `host ${normalizeHost(url.hostname)} is not in the egress allowlist`;
    if (url.protocol === 'http:' && !rule.http) return `plain http to ${normalizeHost(url.hostname)} is not allowed (https only unless its rule sets http: true)`;
    return null;
  }
}
