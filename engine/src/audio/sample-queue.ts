/**
 * A growable ring buffer of PCM16 samples with absolute read/write positions, so callers can express
 * "played up to sample N" without the ring's wrap-around leaking out.
 */
export class SampleQueue {
  private buf: Int16Array;
  private mask: number;
  /** Absolute index of the next sample to read. */
  private readPos = 0;
  /** Absolute index one past the last sample written. */
  private writePos = 0;

  constructor(initialCapacity = 4096, private readonly maxSamples = Number.MAX_SAFE_INTEGER) {
    let cap = 1;
    while (cap < initialCapacity) cap <<= 1;
    this.buf = new Int16Array(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.writePos - this.readPos;
  }

  /** Samples consumed since creation. */
  get readPosition(): number {
    return this.readPos;
  }

  /** Samples accepted since creation. */
  get writePosition(): number {
    return this.writePos;
  }

  /** Appends `src`; returns how many samples did not fit under `maxSamples` (they are dropped). */
  push(src: Int16Array, count: number = src.length): number {
    const room = this.maxSamples - this.length;
    const n = Math.min(count, room);
    if (n <= 0) return count;
    this.ensureCapacity(this.length + n);
    // Index loops instead of subarray()+set(): no view objects on the per-frame path.
    const buf = this.buf;
    const mask = this.mask;
    let w = this.writePos;
    for (let i = 0; i < n; i++, w++) buf[w & mask] = src[i];
    this.writePos = w;
    return count - n;
  }

  /** Moves up to `count` samples into `dst` (from index 0); returns the count. */
  pull(dst: Int16Array, count: number = dst.length): number {
    const n = Math.min(count, this.length, dst.length);
    const buf = this.buf;
    const mask = this.mask;
    let r = this.readPos;
    for (let i = 0; i < n; i++, r++) dst[i] = buf[r & mask];
    this.readPos = r;
    return n;
  }

  /** Discards up to `count` samples from the front; returns the count. */
  skip(count: number): number {
    const n = Math.min(count, this.length);
    this.readPos += n;
    return n;
  }

  /** Drops everything queued; returns how many samples were dropped. */
  clear(): number {
    const dropped = this.length;
    this.readPos = this.writePos;
    return dropped;
  }

  private ensureCapacity(needed: number): void {
    if (needed <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < needed) cap <<= 1;
    // Rare (growth doubles): copy sample by sample so each keeps its absolute position in the new ring.
    const next = new Int16Array(cap);
    const nextMask = cap - 1;
    for (let p = this.readPos; p < this.writePos; p++) next[p & nextMask] = this.buf[p & this.mask];
    this.buf = next;
    this.mask = nextMask;
  }
}
