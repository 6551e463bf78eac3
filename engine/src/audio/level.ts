/** Mean absolute sample value of `samples` (0–32768): a cheap loudness measure for one frame. */
export function meanAbs(samples: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    sum += s < 0 ? -s : s;
  }
  return samples.length === 0 ? 0 : sum / samples.length;
}
