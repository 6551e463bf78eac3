import { isIP } from 'node:net';

/**
 * Decides "loopback caller" from the socket's remote address only. Headers such as X-Forwarded-For or Host
 * are attacker-controlled and never consulted.
 */
export function isLoopbackAddress(remoteAddress: string | undefined): boolean {
  if (!remoteAddress) return false;
  const addr = remoteAddress.toLowerCase();
  if (addr === '::1') return true;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
