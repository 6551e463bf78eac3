/**
 * Signed 16-bit linear PCM ("slin") to and from bytes. Asterisk's AudioSocket and WebSocket media carry
 * host-order (little-endian) samples; RTP L16 is network order (big-endian). DataView-free loops keep
 * these allocation-free on the per-frame path.
 */

/** Reads little-endian 16-bit samples from `src` into `dst`; returns the sample count. */
export function readSlinLE(src: Uint8Array, dst: Int16Array, start = 0, end = src.length): number {
  const n = Math.min((end - start) >> 1, dst.length);
  for (let i = 0, b = start; i < n; i++, b += 2) dst[i] = (src[b] | (src[b + 1] << 8)) << 16 >> 16;
  return n;
}

/** Reads big-endian 16-bit samples from `src` into `dst`; returns the sample count. */
export function readSlinBE(src: Uint8Array, dst: Int16Array, start = 0, end = src.length): number {
  const n = Math.min((end - start) >> 1, dst.length);
  for (let i = 0, b = start; i < n; i++, b += 2) dst[i] = ((src[b] << 8) | src[b + 1]) << 16 >> 16;
  return n;
}

/** Writes `src` as little-endian bytes into `dst`; returns the byte count. */
export function writeSlinLE(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length >> 1);
  for (let i = 0, b = 0; i < n; i++, b += 2) {
    const s = src[i];
    dst[b] = s & 0xff;
    dst[b + 1] = (s >> 8) & 0xff;
  }
  return n << 1;
}

/** Writes `src` as big-endian bytes into `dst`; returns the byte count. */
export function writeSlinBE(src: Int16Array, dst: Uint8Array): number {
  const n = Math.min(src.length, dst.length >> 1);
  for (let i = 0, b = 0; i < n; i++, b += 2) {
    const s = src[i];
    dst[b] = (s >> 8) & 0xff;
    dst[b + 1] = s & 0xff;
  }
  return n << 1;
}
