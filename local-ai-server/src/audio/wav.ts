// Minimal RIFF/WAVE reader and writer for 16-bit PCM mono, the only format the local engines exchange.

export interface PcmAudio {
  sampleRate: number;
  samples: Int16Array;
}

export function parseWav(data: Uint8Array): PcmAudio {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.byteLength < 12 || view.getUint32(0, false) !== 0x52494646 || view.getUint32(8, false) !== 0x57415645) {
    throw new Error('not a RIFF/WAVE file');
  }
  let sampleRate = 0;
  let channels = 0;
  let bits = 0;
  for (let at = 12; at + 8 <= data.byteLength; ) {
    const id = view.getUint32(at, false);
    let size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 0x666d7420) {
      // 'fmt '
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
    } else if (id === 0x64617461) {
      // 'data'; streamed WAVs (flite to a pipe) carry a bogus size, so clamp to what is there
      if (bits !== 16 || channels !== 1) throw new Error(`unsupported WAV: ${bits}-bit, ${channels} channels`);
      size = Math.min(size, data.byteLength - body) & ~1;
      const copy = data.slice(body, body + size);
      return { sampleRate, samples: new Int16Array(copy.buffer, copy.byteOffset, size / 2) };
    }
    at = body + size + (size & 1);
  }
  throw new Error('WAV has no data chunk');
}

export function buildWav(audio: PcmAudio): Uint8Array {
  const bytes = audio.samples.length * 2;
  const out = new Uint8Array(44 + bytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x52494646, false);
  view.setUint32(4, 36 + bytes, true);
  view.setUint32(8, 0x57415645, false);
  view.setUint32(12, 0x666d7420, false);
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  view.setUint32(36, 0x64617461, false);
  view.setUint32(40, bytes, true);
  out.set(new Uint8Array(audio.samples.buffer, audio.samples.byteOffset, bytes), 44);
  return out;
}
