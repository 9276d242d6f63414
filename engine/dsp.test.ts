import { describe, expect, it } from 'vitest';
import { hannWindow, istftTorch, pad1dReflect, reflectIndex, SpecTransform, stftTorch, triangleWeights } from './dsp.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}
const noise = (n: number, seed = 1) => {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => r());
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('padding', () => {
  it('reflects like torch F.pad(mode="reflect") (edge sample not repeated)', () => {
    const x = Float64Array.from([1, 2, 3, 4, 5]);
    expect(Array.from(pad1dReflect(x, 3, 2))).toEqual([4, 3, 2, 1, 2, 3, 4, 5, 4, 3]);
    expect(reflectIndex(-1, 5)).toBe(1);
    expect(reflectIndex(5, 5)).toBe(3);
    expect(reflectIndex(-9, 5)).toBe(1); // periodic beyond one reflection
  });
  it('handles inputs shorter than the padding as demucs pad1d (zero-extend right, then reflect)', () => {
    // pad1d(x=[1,2], (3,3)): extra_pad = 3-2+1 = 2, all on the right → [1,2,0,0] then reflect (3,1)
    expect(Array.from(pad1dReflect(Float64Array.from([1, 2]), 3, 3))).toEqual([0, 0, 2, 1, 2, 0, 0, 0]);
  });
});

describe('triangle weights', () => {
  it('matches apply_model: cat(arange(1, seg//2+1), arange(seg - seg//2, 0, -1)) / max', () => {
    expect(Array.from(triangleWeights(6))).toEqual([1 / 3, 2 / 3, 1, 1, 2 / 3, 1 / 3].map((v) => Math.fround(v)));
    const w = triangleWeights(343980);
    expect(w[0]).toBeCloseTo(1 / 171990, 10);
    expect(w[171989]).toBe(1);
    expect(w[171990]).toBe(1);
    expect(w[343979]).toBeCloseTo(1 / 171990, 10);
  });
  it('sums to a positive weight everywhere with overlap 0.25', () => {
    const seg = 1000;
    const stride = 750;
    const sum = new Float64Array(4000);
    const w = triangleWeights(seg);
    for (let o = 0; o < 4000; o += stride) for (let i = 0; i < seg && o + i < 4000; i++) sum[o + i] += w[i];
    expect(Math.min(...sum)).toBeGreaterThan(0);
  });
});

describe('torch-compatible stft / istft', () => {
  it('agrees with a direct DFT of the centred, reflect-padded, windowed frames (normalized)', () => {
    const nFft = 16;
    const hop = 4;
    const x = noise(50, 3);
    const z = stftTorch(x, nFft, hop);
    const padded = pad1dReflect(x, 8, 8);
    const w = hannWindow(nFft);
    expect(z.frames).toBe(1 + Math.floor((50 + 16 - 16) / 4));
    for (const f of [0, 3, z.frames - 1]) {
      for (let k = 0; k <= nFft / 2; k++) {
        let re = 0;
        let im = 0;
        for (let n = 0; n < nFft; n++) {
          const v = padded[f * hop + n] * w[n];
          re += v * Math.cos((-2 * Math.PI * k * n) / nFft);
          im += v * Math.sin((-2 * Math.PI * k * n) / nFft);
        }
        expect(z.re[f * z.bins + k]).toBeCloseTo(re / 4, 10);
        expect(z.im[f * z.bins + k]).toBeCloseTo(im / 4, 10);
      }
    }
  });
  it('round-trips with the exact requested length', () => {
    const x = noise(10_000, 7);
    const z = stftTorch(x, 4096, 1024);
    const y = istftTorch(z, 4096, 1024, x.length);
    expect(y.length).toBe(x.length);
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-9);
  });
});

/** HTDemucs._spec built from the reference pieces (slow path). */
function refSpec(x: Float64Array, nFft: number, hop: number) {
  const le = Math.ceil(x.length / hop);
  const pad = (hop / 2) * 3;
  const padded = pad1dReflect(x, pad, pad + le * hop - x.length);
  const z = stftTorch(padded, nFft, hop);
  expect(z.frames).toBe(le + 4);
  return { z, le };
}

describe('SpecTransform (the fast per-segment path)', () => {
  const nFft = 256;
  const hop = 64;
  const segment = 3000; // not a multiple of hop, like 343980
  const t = new SpecTransform(nFft, hop, segment);
  // band-limited test signals (the _spec path drops the Nyquist bin, so white noise would not round-trip)
  const L = Float64Array.from({ length: segment }, (_, i) => Math.sin(0.05 * i) + 0.3 * Math.sin(0.71 * i + 1));
  const R = Float64Array.from({ length: segment }, (_, i) => 0.5 * Math.cos(0.031 * i) - 0.2 * Math.sin(1.3 * i));
  const mix = new Float32Array(2 * segment);
  mix.set(L, 0);
  mix.set(R, segment);

  it('equals HTDemucs._spec + _magnitude(cac): frames 2..2+le, Nyquist dropped, channels re/im interleaved', () => {
    const spec = new Float32Array(4 * t.bins * t.frames);
    t.forward(mix, spec);
    const { z: zl, le } = refSpec(Float64Array.from(mix.subarray(0, segment)), nFft, hop);
    const { z: zr } = refSpec(Float64Array.from(mix.subarray(segment)), nFft, hop);
    expect(t.frames).toBe(le);
    let worst = 0;
    for (let k = 0; k < t.bins; k++) {
      for (let f = 0; f < le; f++) {
        const ref = [zl.re[(f + 2) * zl.bins + k], zl.im[(f + 2) * zl.bins + k], zr.re[(f + 2) * zr.bins + k], zr.im[(f + 2) * zr.bins + k]];
        for (let c = 0; c < 4; c++) worst = Math.max(worst, Math.abs(spec[(c * t.bins + k) * t.frames + f] - ref[c]));
      }
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('inverts HTDemucs._ispec exactly: pad Nyquist + 2 frames, istft(length), crop 1.5 hops', () => {
    const spec = new Float32Array(4 * t.bins * t.frames);
    t.forward(mix, spec);
    // two "sources": the spectrum itself and twice it
    const spec2 = new Float32Array(2 * spec.length);
    spec2.set(spec, 0);
    for (let i = 0; i < spec.length; i++) spec2[spec.length + i] = 2 * spec[i];
    const time = new Float32Array(2 * 2 * segment).fill(0.25);
    t.inverseAdd(spec2, time, 2);
    // _spec then _ispec is the identity where four real frames overlap (at the segment's edges the
    // two empty frames _ispec pads in attenuate the spectral branch, as in the reference; the
    // triangle weights of apply_model hide those edges)
    const inner = (a: Float32Array, off: number) => a.subarray(off + 2 * nFft, off + segment - 2 * nFft);
    const innerRef = (x: Float64Array, k: number) => Float64Array.from(x.subarray(2 * nFft, segment - 2 * nFft), (v) => k * v + 0.25);
    expect(maxAbsDiff(inner(time, 0), innerRef(L, 1))).toBeLessThan(1e-5);
    expect(maxAbsDiff(inner(time, segment), innerRef(R, 1))).toBeLessThan(1e-5);
    expect(maxAbsDiff(inner(time, 3 * segment), innerRef(R, 2))).toBeLessThan(1e-5);
    // and agrees with the reference istft of the padded spectrum, including the last samples
    const frames = t.frames + 4;
    const bins = nFft / 2 + 1;
    const z = { re: new Float64Array(frames * bins), im: new Float64Array(frames * bins), frames, bins };
    for (let f = 0; f < t.frames; f++)
      for (let k = 0; k < t.bins; k++) {
        z.re[(f + 2) * bins + k] = spec[(0 * t.bins + k) * t.frames + f] * 3;
        z.im[(f + 2) * bins + k] = spec[(1 * t.bins + k) * t.frames + f] * 3;
      }
    const le = hop * t.frames + 2 * ((hop / 2) * 3);
    const ref = istftTorch(z, nFft, hop, le).subarray((hop / 2) * 3, (hop / 2) * 3 + segment);
    const one = new Float32Array(2 * segment);
    const tripled = Float32Array.from(spec, (v) => v * 3);
    t.inverseAdd(tripled, one, 1);
    expect(maxAbsDiff(one.subarray(0, segment), ref)).toBeLessThan(1e-5);
    expect(Number.isFinite(one[segment - 1])).toBe(true);
    expect(Math.abs(one[segment - 1])).toBeGreaterThan(0);
  });
});
