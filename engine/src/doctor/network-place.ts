import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { isLoopbackHost } from '@ai-agent/common';

/**
 * Where Asterisk runs as seen from here: on this host (loopback, or one of this host's own addresses) or on
 * another one. An engine in a container reaching Asterisk on the Docker host through the bridge address counts
 * as remote, as it must: the container's loopback is not the host's.
 */
export type Place = 'this-host' | 'remote' | 'unknown';

function ownAddresses(): Set<string> {
  return new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.toLowerCase())));
}

function placeOfAddress(address: string, own: Set<string>): Place {
  return isLoopbackHost(address) || own.has(address.toLowerCase()) ? 'this-host' : 'remote';
}

export async function placeOf(host: string, timeoutMs: number): Promise<Place> {
  const bare = host.replace(/^\[|\]$/g, '');
  const own = ownAddresses();
  if (isLoopbackHost(bare) || isIP(bare)) return placeOfAddress(bare, own);
  try {
    const addresses = await Promise.race([
      lookup(bare, { all: true }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    if (addresses.length === 0) return 'unknown';
    return addresses.every((a) => placeOfAddress(a.address, own) === 'this-host') ? 'this-host' : 'remote';
  } catch {
    return 'unknown';
  }
}

/** 0.0.0.0 or ::: "every address" to a listener, and "this host" to whoever sends to it. */
export function isUnspecified(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::' || h === '0:0:0:0:0:0:0:0';
}
