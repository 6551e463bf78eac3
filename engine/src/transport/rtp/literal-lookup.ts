import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * Address lookup for RTP sockets (dgram's `lookup` option). An unconnected dgram socket resolves the
 * destination of every `send()` through it, and the default (`dns.lookup`) answers even an IP literal on the
 * next tick: each packet would cost a closure and a deferred call, and every call's frame would leave only
 * after the pacer's whole tick, behind the pipeline's inbound work. Answering IP literals at once makes
 * `send()` synchronous (libuv tries the send immediately); anything else still goes through DNS.
 */
export function ipLiteralLookup(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
