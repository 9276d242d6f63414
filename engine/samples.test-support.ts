/** Test support (imported only by tests; lint keeps it out of production modules). */

/** All the blocks an audio generator yields (decodeAudio, a WAV reader), as one interleaved array. */
export async function collectSamples(gen: AsyncIterable<Float32Array>): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const c of gen) parts.push(c);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
