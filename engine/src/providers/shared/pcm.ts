// Byte ↔ sample helpers for vendor audio: PCM16 little-endian arriving in network chunks of any length.

/**
 * Mean square of a frame above which the line carries sound (≈ −55 dBFS): digital silence and a quiet line
 * stay below, any speech is far above.
 */
const SOUND_MEAN_SQUARE = 60 * 60;

export function carriesSound(pcm: Int16Array): boolean {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i]! * pcm[i]!;
  return sum > SOUND_MEAN_SQUARE * pcm.length;
}

/** Little-endian bytes → samples the caller may keep: a view when aligned and owned, else a copy. */
export function toInt16(bytes: Uint8Array): Int16Array {
  const n = bytes.byteLength >> 1;
  if ((bytes.byteOffset & 1) === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, n);
  const out = new Int16Array(n);
  new Uint8Array(out.buffer).set(bytes.subarray(0, n * 2));
  return out;
}

/**
 * Turns a byte stream into whole samples: an odd byte at the end of one network chunk is carried to the
 * next, so no sample is ever split (which would shift every later sample by one byte: loud noise).
 */
export class SampleAssembler {
  private carry: number | null = null;

  push(chunk: Uint8Array): Int16Array {
    const extra = this.carry === null ? 0 : 1;
    const total = chunk.byteLength + extra;
    const bytes = new Uint8Array(total & ~1);
    if (this.carry !== null && bytes.length > 0) bytes[0] = this.carry;
    const take = bytes.length - extra;
    if (take > 0) bytes.set(chunk.subarray(0, take), extra);
    this.carry = total & 1 ? (chunk.byteLength > 0 ? chunk[chunk.byteLength - 1]! : this.carry) : null;
    return new Int16Array(bytes.buffer, 0, bytes.length >> 1);
  }
}

/** A mono PCM16 WAV file around `pcm` (utterance uploads). */
export function wavFile(pcm: Int16Array, sampleRate: number): Uint8Array {
  const data = pcm.byteLength;
  const out = new Uint8Array(44 + data);
  const v = new DataView(out.buffer);
  const text = (at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  text(0, 'RIFF');
  v.setUint32(4, 36 + data, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  text(36, 'data');
  v.setUint32(40, data, true);
  out.set(new Uint8Array(pcm.buffer, pcm.byteOffset, data), 44);
  return out;
}
