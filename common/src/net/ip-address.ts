// IP addresses as bytes, CIDR ranges, and the special-purpose ranges an outbound request must not reach unless
// an operator allowlists them: the egress guard judges every address a request would connect to with these.
import { isIP } from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Cidr extends IpAddress {
  prefix: number;
}

function parseIpv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number);
}

function parseIpv6(text: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let head = text;
  let tail4: Uint8Array | null = null;
  // A dotted IPv4 tail (::ffff:1.2.3.4) fills the last four bytes.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail4 = parseIpv4(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.split('::') as [string, string | undefined];
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const l = groups(left);
  const r = groups(right);
  const all = right === undefined ? l : [...l, ...new Array<number>(8 - l.length - r.length).fill(0), ...r];
  all.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tail4) bytes.set(tail4, 12);
  return bytes;
}

/** Parses an IPv4 or IPv6 literal (brackets allowed, as in URLs); null for anything else, names included. */
export function parseIp(text: string): IpAddress | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const family = isIP(bare);
  if (family === 4) return { family: 4, bytes: parseIpv4(bare) };
  if (family === 6) return { family: 6, bytes: parseIpv6(bare) };
  return null;
}

export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return ip.bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((ip.bytes[i]! << 8) | ip.bytes[i + 1]!).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** `a.b.c.d/n` or `x::/n`; the address part may have host bits set (they are ignored). */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return null;
  const max = ip.family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > max) return null;
  return { ...ip, prefix };
}

export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full]! & mask) === (ip.bytes[full]! & mask);
}

const MAPPED = parseCidr('::ffff:0:0/96')!;
const COMPATIBLE = parseCidr('::/96')!;
const NAT64 = parseCidr('64:ff9b::/96')!;

/**
 * The IPv4 address an IPv6 address stands for, where connecting to it reaches that IPv4 host: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, deprecated but still routed by some stacks) and the NAT64
 * well-known prefix. `::` and `::1` are themselves, not 0.0.0.0/0.0.0.1.
 */
export function embeddedIpv4(ip: IpAddress): IpAddress | null {
  if (ip.family !== 6) return null;
  const v4 = (): IpAddress => ({ family: 4, bytes: ip.bytes.slice(12) });
  if (cidrContains(MAPPED, ip) || cidrContains(NAT64, ip)) return v4();
  if (cidrContains(COMPATIBLE, ip)) {
    const tail = ip.bytes.slice(12);
    const isUnspecifiedOrLoopback = tail[0] === 0 && tail[1] === 0 && tail[2] === 0 && tail[3]! <= 1;
    return isUnspecifiedOrLoopback ? null : v4();
  }
  return null;
}

/** The address a connection to `ip` really reaches: the embedded IPv4 address, or `ip` itself. */
export function effectiveIp(ip: IpAddress): IpAddress {
  return embeddedIpv4(ip) ?? ip;
}

type Range = [Cidr, string];
const ranges = (rows: Array<[string, string]>): Range[] => rows.map(([cidr, label]) => [parseCidr(cidr)!, label]);

// More specific entries first: the first match names the range.
const SPECIAL_V4 = ranges([
  ['169.254.169.254/32', 'cloud metadata'],
  ['168.63.129.16/32', 'cloud metadata'],
  ['100.100.100.200/32', 'cloud metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
]);

const SPECIAL_V6 = ranges([
  ['fd00:ec2::254/128', 'cloud metadata'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fc00::/7', 'unique local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
  ['64:ff9b:1::/48', 'private'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  // Teredo and the other IETF protocol assignments, and 6to4: tunnels whose far end is an IPv4 host.
  ['2001::/23', 'reserved'],
  ['2002::/16', 'reserved'],
]);

const GLOBAL_UNICAST_V6 = parseCidr('2000::/3')!;

/**
 * What kind of special-purpose address `ip` is ("loopback", "private", "cloud metadata", …), or null for a
 * public unicast address. IPv6 forms of IPv4 addresses are judged as the IPv4 address they reach; IPv6
 * outside global unicast (2000::/3) is special whatever it is.
 */
export function specialRange(ip: IpAddress): string | null {
  const target = effectiveIp(ip);
  const table = target.family === 4 ? SPECIAL_V4 : SPECIAL_V6;
  const hit = table.find(([cidr]) => cidrContains(cidr, target));
  if (hit) return hit[1];
  if (target.family === 6 && !cidrContains(GLOBAL_UNICAST_V6, target)) return 'reserved';
  return null;
}

/** `a` holds every address of `b`. */
function cidrCovers(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.prefix <= b.prefix && cidrContains(a, b);
}

/**
 * Whether a range holds special-purpose addresses: `none`, `all`, or `mixed` (both special and public, e.g.
 * 0.0.0.0/0). An allowlist rule that is `mixed` would open internal addresses by accident, so config refuses it.
 */
export function specialCoverage(cidr: Cidr): 'none' | 'all' | 'mixed' {
  if (cidr.family === 6) {
    if (!cidrCovers(GLOBAL_UNICAST_V6, cidr)) return cidrCovers(cidr, GLOBAL_UNICAST_V6) ? 'mixed' : 'all';
  }
  const table = cidr.family === 4 ? SPECIAL_V4 : SPECIAL_V6;
  if (table.some(([range]) => cidrCovers(range, cidr))) return 'all';
  if (table.some(([range]) => cidrCovers(cidr, range))) return 'mixed';
  return 'none';
}
