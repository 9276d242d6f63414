/** Quality measures used by tests and the benchmark. */
import { decodeAudio } from './decode.ts';

/** Whole file as planar stereo [left, right] (for short clips in tests and benchmarks only). */
export async function readStereo(file: string): Promise<[Float32Array, Float32Array]> {
  const parts: Float32Array[] = [];
  let n = 0;
  for await (const c of decodeAudio(file)) {
    parts.push(c);
    n += c.length >> 1;
  }
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  let i = 0;
  for (const c of parts)
    for (let k = 0; k < c.length; k += 2, i++) {
      l[i] = c[k];
      r[i] = c[k + 1];
    }
  return [l, r];
}

/**
 * Music Demixing Challenge SDR: 10·log10(Σ s² / Σ (s − ŝ)²) over the whole clip, both channels.
 * Lengths must match.
 */
export function sdr(reference: [Float32Array, Float32Array], estimate: [Float32Array, Float32Array], eps = 1e-8): number {
  let num = 0;
  let den = 0;
  for (let c = 0; c < 2; c++) {
    const s = reference[c];
    const e = estimate[c];
    if (s.length !== e.length) throw new Error(`sdr: length mismatch ${s.length} vs ${e.length}`);
    for (let i = 0; i < s.length; i++) {
      num += s[i] * s[i];
      const d = s[i] - e[i];
      den += d * d;
    }
  }
  return 10 * Math.log10((num + eps) / (den + eps));
}

export function countNonFinite(x: Float32Array): number {
  let n = 0;
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) n++;
  return n;
}
