/**
 * Signal processing for HTDemucs, outside the ONNX graph, as the reference `demucs` does it:
 *  - `HTDemucs._spec`:  reflect-pad by 1.5 hops (and up to a whole number of hops), torch.stft
 *    (n_fft, hop, periodic Hann, normalized, center, reflect), drop the Nyquist bin, keep frames
 *    2 .. 2+le; then `_magnitude` with complex-as-channels (c0.re, c0.im, c1.re, c1.im).
 *  - `HTDemucs._ispec`: pad the Nyquist bin and 2 empty frames each side, torch.istft with the
 *    exact length, crop 1.5 hops at the start.
 *  - `apply_model`'s triangle weights for overlap-add.
 *
 * `SpecTransform` is the pre-allocated fast path used per segment (no allocation in the hot
 * loop; two real channels share one complex FFT). `stftTorch` / `istftTorch` are plain,
 * general implementations of torch's semantics, used by tests as the reference.
 */
import FFT from 'fft.js';

/** torch.hann_window(n) (periodic=True). */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/**
 * Overlap-add weights of `demucs.apply.apply_model`: a triangle with its maximum (1) in the
 * middle, `cat(arange(1, seg//2 + 1), arange(seg - seg//2, 0, -1)) / max`, to the power
 * `transitionPower`.
 */
export function triangleWeights(segment: number, transitionPower = 1): Float32Array {
  const w = new Float32Array(segment);
  const half = Math.floor(segment / 2);
  for (let i = 0; i < half; i++) w[i] = i + 1;
  for (let i = half; i < segment; i++) w[i] = segment - i;
  let max = 0;
  for (let i = 0; i < segment; i++) if (w[i] > max) max = w[i];
  for (let i = 0; i < segment; i++) w[i] = Math.pow(w[i] / max, transitionPower);
  return w;
}

/** Index into a signal of length `n` reflect-padded as torch's F.pad(mode='reflect') (edge not repeated). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/**
 * `demucs.hdemucs.pad1d`: reflect padding that also works when the input is shorter than the
 * padding (it first zero-pads just enough on the right, then reflects).
 */
export function pad1dReflect(x: Float32Array | Float64Array, left: number, right: number): Float64Array {
  const length = x.length;
  let src: Float64Array = Float64Array.from(x);
  const maxPad = Math.max(left, right);
  if (length <= maxPad) {
    const extra = maxPad - length + 1;
    const extraRight = Math.min(right, extra);
    const extraLeft = extra - extraRight;
    left -= extraLeft;
    right -= extraRight;
    const z = new Float64Array(length + extra);
    z.set(src, extraLeft);
    src = z;
  }
  const n = src.length;
  const out = new Float64Array(n + left + right);
  for (let i = 0; i < out.length; i++) out[i] = src[reflectIndex(i - left, n)];
  return out;
}

export interface ComplexFrames {
  /** [frames][bins] real parts, row-major. */
  re: Float64Array;
  im: Float64Array;
  frames: number;
  bins: number;
}

/** torch.stft(x, nFft, hop, window=hann(nFft), center, pad_mode='reflect', normalized, onesided). Reference implementation. */
export function stftTorch(x: Float64Array | Float32Array, nFft: number, hop: number, opts: { center?: boolean; normalized?: boolean } = {}): ComplexFrames {
  const center = opts.center ?? true;
  const normalized = opts.normalized ?? true;
  const sig = center ? pad1dReflect(x, nFft / 2, nFft / 2) : Float64Array.from(x);
  const frames = 1 + Math.floor((sig.length - nFft) / hop);
  const bins = nFft / 2 + 1;
  const w = hannWindow(nFft);
  const fft = new FFT(nFft);
  const inp = new Float64Array(nFft);
  const out = fft.createComplexArray() as number[];
  const re = new Float64Array(frames * bins);
  const im = new Float64Array(frames * bins);
  const scale = normalized ? 1 / Math.sqrt(nFft) : 1;
  for (let f = 0; f < frames; f++) {
    for (let n = 0; n < nFft; n++) inp[n] = sig[f * hop + n] * w[n];
    fft.realTransform(out, inp);
    for (let k = 0; k < bins; k++) {
      re[f * bins + k] = out[2 * k] * scale;
      im[f * bins + k] = out[2 * k + 1] * scale;
    }
  }
  return { re, im, frames, bins };
}

/**
 * torch.istft(z, nFft, hop, window=hann(nFft), center, normalized, length) for a onesided
 * spectrum. The imaginary parts of the DC and Nyquist bins are ignored, as C2R transforms do.
 * Reference implementation.
 */
export function istftTorch(z: ComplexFrames, nFft: number, hop: number, length: number, opts: { center?: boolean; normalized?: boolean } = {}): Float64Array {
  const center = opts.center ?? true;
  const normalized = opts.normalized ?? true;
  const { frames, bins } = z;
  const w = hannWindow(nFft);
  const fft = new FFT(nFft);
  const spec = fft.createComplexArray() as number[];
  const out = fft.createComplexArray() as number[];
  const total = nFft + hop * (frames - 1);
  const y = new Float64Array(total);
  const env = new Float64Array(total);
  const scale = normalized ? Math.sqrt(nFft) : 1;
  for (let f = 0; f < frames; f++) {
    for (let k = 0; k < nFft; k++) {
      const kk = k < bins ? k : nFft - k;
      let r = z.re[f * bins + kk];
      let i = z.im[f * bins + kk];
      if (kk === 0 || kk === nFft / 2) i = 0;
      if (k >= bins) i = -i;
      if (k === 0 && kk !== 0) r = 0;
      spec[2 * k] = r;
      spec[2 * k + 1] = i;
    }
    fft.inverseTransform(out, spec);
    for (let n = 0; n < nFft; n++) {
      y[f * hop + n] += out[2 * n] * scale * w[n];
      env[f * hop + n] += w[n] * w[n];
    }
  }
  const start = center ? nFft / 2 : 0;
  const res = new Float64Array(length);
  for (let j = 0; j < length; j++) {
    const q = start + j;
    if (q < total) {
      if (env[q] < 1e-11) throw new Error('istft: window overlap-add envelope is zero (NOLA check failed)');
      res[j] = y[q] / env[q];
    }
  }
  return res;
}

/**
 * The per-segment spectral transforms of HTDemucs with everything pre-allocated.
 *
 * Layouts (float32, row-major, as the ONNX model wants them):
 *  - mix:       [channels=2][segment]
 *  - spec in:   [4][bins][frames]   channels c0.re, c0.im, c1.re, c1.im
 *  - spec out:  [sources][4][bins][frames]
 *  - time out:  [sources][2][segment]
 */
export class SpecTransform {
  readonly bins: number;
  readonly frames: number;
  private readonly fft: FFT;
  private readonly window: Float64Array;
  private readonly invEnvelope: Float32Array;
  private readonly fftIn: Float64Array;
  private readonly fftOut: Float64Array;
  /** Frames processed per batch (cache-friendly transposes). */
  private static readonly BATCH = 16;
  private readonly batchRe: Float64Array[];
  private readonly gather: Float64Array;
  /** window[n] · sqrt(nFft) (istft normalized) / nFft (inverse FFT scaling). */
  private readonly olaGain: Float64Array;

  constructor(
    readonly nFft: number,
    readonly hop: number,
    readonly segment: number,
  ) {
    if (hop * 4 !== nFft) throw new Error('HTDemucs needs hop = nFft / 4');
    this.bins = nFft / 2;
    this.frames = Math.ceil(segment / hop);
    this.fft = new FFT(nFft);
    this.window = hannWindow(nFft);
    this.fftIn = new Float64Array(2 * nFft);
    this.fftOut = new Float64Array(2 * nFft);
    this.batchRe = Array.from({ length: SpecTransform.BATCH }, () => new Float64Array(2 * nFft));
    this.gather = new Float64Array(SpecTransform.BATCH * 4 * this.bins);
    this.olaGain = Float64Array.from(this.window, (w) => (w * Math.sqrt(nFft)) / nFft);
    // 1 / Σ w² over every frame of the padded spectrogram (frames + 4), at each output sample.
    const allFrames = this.frames + 4;
    const total = nFft + hop * (allFrames - 1);
    const env = new Float64Array(total);
    for (let f = 0; f < allFrames; f++) for (let n = 0; n < nFft; n++) env[f * hop + n] += this.window[n] * this.window[n];
    const offset = nFft / 2 + (hop / 2) * 3;
    this.invEnvelope = new Float32Array(segment);
    for (let j = 0; j < segment; j++) this.invEnvelope[j] = 1 / env[offset + j];
  }

  /** First sample (in segment coordinates) of model frame t: frame t+2 of the padded STFT. */
  private frameStart(t: number): number {
    return this.hop * t - (this.hop / 2) * 3;
  }

  /**
   * `HTDemucs._spec` + `_magnitude` (cac): mix [2][segment] → spec [4][bins][frames].
   * Both channels go through one complex FFT (left as real part, right as imaginary part).
   */
  forward(mix: Float32Array, spec: Float32Array): void {
    const { nFft, bins, frames, segment, window } = this;
    const scale = 1 / Math.sqrt(nFft);
    const B = SpecTransform.BATCH;
    const L = mix.subarray(0, segment);
    const R = mix.subarray(segment, 2 * segment);
    for (let t0 = 0; t0 < frames; t0 += B) {
      const nb = Math.min(B, frames - t0);
      for (let b = 0; b < nb; b++) {
        const start = this.frameStart(t0 + b);
        const inp = this.fftIn;
        if (start >= 0 && start + nFft <= segment) {
          for (let n = 0; n < nFft; n++) {
            inp[2 * n] = L[start + n] * window[n];
            inp[2 * n + 1] = R[start + n] * window[n];
          }
        } else {
          for (let n = 0; n < nFft; n++) {
            const i = reflectIndex(start + n, segment);
            inp[2 * n] = L[i] * window[n];
            inp[2 * n + 1] = R[i] * window[n];
          }
        }
        this.fft.transform(this.batchRe[b], inp);
      }
      // Unpack the two real spectra and scatter into [ch][bin][frame].
      for (let k = 0; k < bins; k++) {
        const nk = k === 0 ? 0 : nFft - k;
        const o0 = (0 * bins + k) * frames + t0;
        const o1 = (1 * bins + k) * frames + t0;
        const o2 = (2 * bins + k) * frames + t0;
        const o3 = (3 * bins + k) * frames + t0;
        for (let b = 0; b < nb; b++) {
          const Z = this.batchRe[b];
          const a = Z[2 * k];
          const bb = Z[2 * k + 1];
          const c = Z[2 * nk];
          const d = Z[2 * nk + 1];
          spec[o0 + b] = 0.5 * (a + c) * scale; // left re
          spec[o1 + b] = 0.5 * (bb - d) * scale; // left im
          spec[o2 + b] = 0.5 * (bb + d) * scale; // right re
          spec[o3 + b] = 0.5 * (c - a) * scale; // right im
        }
      }
    }
  }

  /**
   * `HTDemucs._mask` (cac) + `_ispec` for every source, added onto `time` in place:
   * time[s][c][j] += istft(spec[s][2c] + i·spec[s][2c+1])[j].
   * Both channels of a source go through one complex inverse FFT.
   */
  inverseAdd(spec: Float32Array, time: Float32Array, sources: number): void {
    const { nFft, bins, frames, segment, invEnvelope, gather, olaGain } = this;
    const B = SpecTransform.BATCH;
    const Y = this.fftIn;
    const y = this.fftOut;
    const stride = 4 * bins; // per frame in `gather`: L re/im pairs, then R re/im pairs
    for (let s = 0; s < sources; s++) {
      const base = s * 4 * bins * frames;
      const outL = time.subarray(2 * s * segment, (2 * s + 1) * segment);
      const outR = time.subarray((2 * s + 1) * segment, (2 * s + 2) * segment);
      for (let t0 = 0; t0 < frames; t0 += B) {
        const nb = Math.min(B, frames - t0);
        // Gather [ch][bin][frame] (frames contiguous) into per-frame spectra.
        for (let k = 0; k < bins; k++) {
          const i0 = base + k * frames + t0;
          const i1 = i0 + bins * frames;
          const i2 = i1 + bins * frames;
          const i3 = i2 + bins * frames;
          for (let b = 0; b < nb; b++) {
            const g = b * stride + 2 * k;
            gather[g] = spec[i0 + b];
            gather[g + 1] = spec[i1 + b];
            gather[g + 2 * bins] = spec[i2 + b];
            gather[g + 2 * bins + 1] = spec[i3 + b];
          }
        }
        for (let b = 0; b < nb; b++) {
          const g = b * stride;
          // Y[k] = XL[k] + i·XR[k] over the full circle, XL/XR Hermitian; Nyquist bin = 0 (F.pad
          // in _ispec) and the DC imaginary parts dropped (a C2R transform ignores them).
          // ifft(Y) = conj(fft(conj(Y))) / N: build conj(Y) and use the forward transform, with
          // 1/N and the conjugation folded into the overlap-add gain.
          Y[0] = gather[g];
          Y[1] = -gather[g + 2 * bins];
          for (let k = 1; k < bins; k++) {
            const p = gather[g + 2 * k];
            const q = gather[g + 2 * k + 1];
            const r = gather[g + 2 * bins + 2 * k];
            const u = gather[g + 2 * bins + 2 * k + 1];
            Y[2 * k] = p - u;
            Y[2 * k + 1] = -(q + r);
            const m = 2 * (nFft - k);
            Y[m] = p + u;
            Y[m + 1] = q - r;
          }
          Y[2 * bins] = 0;
          Y[2 * bins + 1] = 0;
          this.fft.transform(y, Y);
          const start = this.frameStart(t0 + b);
          const n0 = Math.max(0, -start);
          const n1 = Math.min(nFft, segment - start);
          for (let n = n0; n < n1; n++) {
            const j = start + n;
            const w = olaGain[n] * invEnvelope[j];
            outL[j] += y[2 * n] * w;
            outR[j] -= y[2 * n + 1] * w;
          }
        }
      }
    }
  }
}
