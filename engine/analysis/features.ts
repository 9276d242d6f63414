/**
 * Streaming feature extraction for the musical analysis (tempo, beats, key) of a separated song.
 *
 * The separator hands every finished block of every stem to `FeatureCollector.push` while it
 * writes the stems, so the analysis costs no second decode and its memory grows only with the
 * number of feature frames (a few kB per minute), not with the audio. Each stream is mixed to
 * mono and decimated by 4 (44.1 kHz → 11.025 kHz, 4-sample average), then:
 *
 * - onset streams (drums, bass, mix): 512-point Hann STFT, hop 128 (11.6 ms); per frame the
 *   half-wave-rectified (linear-magnitude) spectral flux in three bands (low < 150 Hz: kick;
 *   mid 150–2500 Hz: snare, toms; high: hats, cymbals). Linear, not log: log compression makes
 *   a quiet hi-hat's flux in the mid band as large as a snare's and hides the accents;
 * - chroma streams (every stem that is not drums): 4096-point Hann STFT, hop 2048 (0.19 s);
 *   magnitudes between 55 Hz and 2 kHz folded onto 12 pitch classes, summed over the song.
 *
 * All FFTs are fft.js, the FFT the separator already uses.
 */
import FFT from 'fft.js';

export const DECIMATE = 4;
const ONSET_N = 512;
const ONSET_HOP = 128;
const CHROMA_N = 4096;
const CHROMA_HOP = 2048;

function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** A growable Float32Array. */
export class Series {
  data = new Float32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Float32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
  values(): Float32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Frames a decimated mono stream into overlapping windows and calls `onFrame` per hop. */
class Framer {
  private readonly buf: Float64Array;
  private fill = 0;
  constructor(
    private readonly n: number,
    private readonly hop: number,
    private readonly onFrame: (frame: Float64Array) => void,
  ) {
    this.buf = new Float64Array(n);
  }
  /** Appends `count` samples of `x`, emitting a frame at every hop. */
  pushBlock(x: Float32Array, count: number): void {
    let i = 0;
    while (i < count) {
      const k = Math.min(count - i, this.n - this.fill);
      this.buf.set(x.subarray(i, i + k), this.fill);
      this.fill += k;
      i += k;
      if (this.fill === this.n) {
        this.onFrame(this.buf);
        this.buf.copyWithin(0, this.hop);
        this.fill = this.n - this.hop;
      }
    }
  }
  /** Pads the last partial window with zeros (one more frame) so the end of the song is seen. */
  flush(): void {
    if (this.fill > this.n - this.hop) {
      this.buf.fill(0, this.fill);
      this.onFrame(this.buf);
    }
    this.fill = 0;
  }
}

export interface OnsetBands {
  low: Float32Array;
  mid: Float32Array;
  high: Float32Array;
}

/** Band-wise log spectral flux of one stream. */
class OnsetStream {
  private readonly fft = new FFT(ONSET_N);
  private readonly win = hann(ONSET_N);
  private readonly inp = new Float64Array(ONSET_N);
  private readonly out = new Float64Array(2 * ONSET_N);
  private prev = new Float64Array(ONSET_N / 2 + 1);
  private cur = new Float64Array(ONSET_N / 2 + 1);
  private first = true;
  readonly low = new Series();
  readonly mid = new Series();
  readonly high = new Series();
  readonly framer: Framer;
  private readonly lowEnd: number;
  private readonly midEnd: number;

  constructor(sampleRate: number) {
    const binHz = sampleRate / ONSET_N;
    this.lowEnd = Math.round(150 / binHz);
    this.midEnd = Math.round(2500 / binHz);
    this.framer = new Framer(ONSET_N, ONSET_HOP, (f) => this.frame(f));
  }

  private frame(f: Float64Array): void {
    const { inp, out, win } = this;
    for (let i = 0; i < ONSET_N; i++) inp[i] = f[i] * win[i];
    this.fft.realTransform(out, inp);
    const half = ONSET_N / 2;
    for (let k = 0; k <= half; k++) {
      const re = out[2 * k];
      const im = out[2 * k + 1];
      this.cur[k] = Math.sqrt(re * re + im * im);
    }
    let lo = 0;
    let mi = 0;
    let hi = 0;
    if (!this.first) {
      for (let k = 1; k <= half; k++) {
        const d = this.cur[k] - this.prev[k];
        if (d <= 0) continue;
        if (k < this.lowEnd) lo += d;
        else if (k < this.midEnd) mi += d;
        else hi += d;
      }
    }
    this.first = false;
    this.low.push(lo);
    this.mid.push(mi);
    this.high.push(hi);
    const t = this.prev;
    this.prev = this.cur;
    this.cur = t;
  }

  bands(): OnsetBands {
    return { low: this.low.values(), mid: this.mid.values(), high: this.high.values() };
  }
}

/** Pitch-class profile of one stream, summed over the song. */
class ChromaStream {
  private readonly fft = new FFT(CHROMA_N);
  private readonly win = hann(CHROMA_N);
  private readonly inp = new Float64Array(CHROMA_N);
  private readonly out = new Float64Array(2 * CHROMA_N);
  /** For each used bin: pitch class and weight toward it (and the neighbour class). */
  private readonly bins: { k: number; pc: number; w: number; pc2: number; w2: number }[] = [];
  readonly chroma = new Float64Array(12);
  /** Bass streams only: per frame, the pitch class of the strongest fundamental (harmonic sum), weighted by level. */
  readonly roots: Float64Array | null;
  private readonly binHz: number;
  frames = 0;
  readonly framer: Framer;

  constructor(sampleRate: number, minHz = 55, maxHz = 2000, trackRoots = false) {
    const binHz = sampleRate / CHROMA_N;
    this.binHz = binHz;
    this.roots = trackRoots ? new Float64Array(12) : null;
    for (let k = Math.ceil(minHz / binHz); k <= Math.min(CHROMA_N / 2 - 1, Math.floor(maxHz / binHz)); k++) {
      const midi = 69 + 12 * Math.log2((k * binHz) / 440);
      const lowerPitch = Math.floor(midi);
      const frac = midi - lowerPitch; // 0 at lowerPitch, 1 at lowerPitch + 1
      const pc = ((lowerPitch % 12) + 12) % 12;
      // Split between the two nearest semitones; a bin between them counts little toward both.
      this.bins.push({ k, pc, w: Math.max(0, 1 - 2 * frac), pc2: (pc + 1) % 12, w2: Math.max(0, 2 * frac - 1) });
    }
    this.framer = new Framer(CHROMA_N, CHROMA_HOP, (f) => this.frame(f));
  }

  private frame(f: Float64Array): void {
    const { inp, out, win } = this;
    for (let i = 0; i < CHROMA_N; i++) inp[i] = f[i] * win[i];
    this.fft.realTransform(out, inp);
    const c = new Float64Array(12);
    for (const b of this.bins) {
      const re = out[2 * b.k];
      const im = out[2 * b.k + 1];
      const m = Math.sqrt(re * re + im * im);
      c[b.pc] += b.w * m;
      c[b.pc2] += b.w2 * m;
    }
    // Each frame counts by its shape, compressed so that loud passages do not outvote the song.
    let s = 0;
    for (let i = 0; i < 12; i++) s += c[i];
    if (s > 1e-6) {
      const g = Math.sqrt(s) / s;
      for (let i = 0; i < 12; i++) this.chroma[i] += c[i] * g;
      if (this.roots) this.root(Math.sqrt(s));
    }
    this.frames++;
  }

  /** Strongest fundamental from E1 to B3 by a 4-harmonic sum of magnitudes. */
  private root(weight: number): void {
    const out = this.out;
    const mag = (f: number) => {
      const k = Math.round(f / this.binHz);
      const re = out[2 * k];
      const im = out[2 * k + 1];
      return Math.sqrt(re * re + im * im);
    };
    let best = -1;
    let arg = 0;
    for (let midi = 28; midi <= 59; midi++) {
      const f0 = 440 * 2 ** ((midi - 69) / 12);
      let v = 0;
      for (let h = 1; h <= 4; h++) v += mag(h * f0) / Math.sqrt(h);
      if (v > best) {
        best = v;
        arg = midi;
      }
    }
    this.roots![arg % 12] += weight;
  }
}

/** Mono mix + 4:1 decimation feeding a set of consumers. */
class Stream {
  private acc = 0;
  private phase = 0;
  energy = 0;
  samples = 0;
  constructor(private readonly consumers: Framer[]) {}
  /**
   * Mixes a stereo block to mono, decimates it into `out` (returns how many decimated samples;
   * the 4-sample phase carries over between blocks) and feeds the consumers.
   */
  addBlock(l: Float32Array, r: Float32Array, n: number, out: Float32Array): number {
    let acc = this.acc;
    let phase = this.phase;
    let energy = 0;
    let k = 0;
    for (let t = 0; t < n; t++) {
      const m = 0.5 * (l[t] + r[t]);
      energy += m * m;
      acc += m;
      if (++phase === DECIMATE) {
        out[k++] = acc / DECIMATE;
        acc = 0;
        phase = 0;
      }
    }
    this.acc = acc;
    this.phase = phase;
    this.energy += energy;
    this.samples += n;
    this.feed(out, k);
    return k;
  }
  /** Feeds already decimated samples (the mix: the sum of the stems' decimated blocks). */
  feed(x: Float32Array, k: number): void {
    for (const c of this.consumers) c.pushBlock(x, k);
  }
  /** Power of decimated samples (the mix is only known decimated). */
  addPower(x: Float32Array, k: number): void {
    let e = 0;
    for (let i = 0; i < k; i++) e += x[i] * x[i];
    this.energy += e;
    this.samples += k;
  }
  flush(): void {
    for (const c of this.consumers) c.flush();
  }
}

export interface Features {
  /** Onset frames per second. */
  fps: number;
  /** Onset bands of the drums stem (null when the model has none). */
  drums: OnsetBands | null;
  /** Onset bands of the bass stem (null when the model has none). */
  bass: OnsetBands | null;
  /** Onset bands of the sum of all stems (the mix). */
  mix: OnsetBands;
  /** Mean square of the drums stem (mono) and of the mix (mono, decimated). */
  drumsPower: number;
  mixPower: number;
  /** Summed, per-frame-normalised chroma per harmonic stem (index 0 = C). */
  chroma: Record<string, Float64Array>;
  /** Histogram of the bass stem's root pitch classes (null without a bass stem). */
  bassRoots: Float64Array | null;
  durationSec: number;
}

const HARMONIC_EXCLUDE = new Set(['drums']);

/**
 * Collects analysis features from planar stem blocks as the separator produces them.
 * `stemNames[i]` names `sources[i]` of every push.
 */
export class FeatureCollector {
  private readonly streams: Stream[] = [];
  private readonly mix: Stream;
  private readonly onsetOf = new Map<string, OnsetStream>();
  private readonly chromaOf = new Map<string, ChromaStream>();
  private readonly mixOnset: OnsetStream;
  private readonly rate: number;
  private frames = 0;
  /** Time spent in push (the streaming share of the analysis), ms. */
  pushMs = 0;
  private dec = new Float32Array(0);
  private mixDec = new Float32Array(0);

  constructor(
    private readonly stemNames: string[],
    private readonly sampleRate: number,
  ) {
    this.rate = sampleRate / DECIMATE;
    for (const name of stemNames) {
      const consumers: Framer[] = [];
      if (name === 'drums' || name === 'bass') {
        const o = new OnsetStream(this.rate);
        this.onsetOf.set(name, o);
        consumers.push(o.framer);
      }
      if (!HARMONIC_EXCLUDE.has(name)) {
        const c = new ChromaStream(this.rate, name === 'bass' ? 30 : 55, name === 'bass' ? 500 : 2000, name === 'bass');
        this.chromaOf.set(name, c);
        consumers.push(c.framer);
      }
      this.streams.push(new Stream(consumers));
    }
    this.mixOnset = new OnsetStream(this.rate);
    this.mix = new Stream([this.mixOnset.framer]);
  }

  /** Adds `n` frames of every source: `sources[s] = [left, right]`. */
  push(sources: Float32Array[][], n: number): void {
    const t0 = performance.now();
    const S = this.stemNames.length;
    const cap = Math.ceil(n / DECIMATE) + 1;
    if (this.dec.length < cap) {
      this.dec = new Float32Array(cap);
      this.mixDec = new Float32Array(cap);
    }
    let k = 0;
    for (let s = 0; s < S; s++) {
      k = this.streams[s].addBlock(sources[s][0], sources[s][1], n, this.dec);
      if (s === 0) this.mixDec.fill(0, 0, k);
      for (let i = 0; i < k; i++) this.mixDec[i] += this.dec[i];
    }
    // decimation is linear: the mix's decimated signal is the sum of the stems'
    this.mix.addPower(this.mixDec, k);
    this.mix.feed(this.mixDec, k);
    this.frames += n;
    this.pushMs += performance.now() - t0;
  }

  finish(): Features {
    for (const s of this.streams) s.flush();
    this.mix.flush();
    const drumsIdx = this.stemNames.indexOf('drums');
    const chroma: Record<string, Float64Array> = {};
    for (const [name, c] of this.chromaOf) chroma[name] = c.chroma;
    return {
      fps: this.rate / ONSET_HOP,
      drums: this.onsetOf.get('drums')?.bands() ?? null,
      bass: this.onsetOf.get('bass')?.bands() ?? null,
      mix: this.mixOnset.bands(),
      drumsPower: drumsIdx >= 0 ? this.streams[drumsIdx].energy / Math.max(1, this.streams[drumsIdx].samples) : 0,
      mixPower: this.mix.energy / Math.max(1, this.mix.samples),
      chroma,
      bassRoots: this.chromaOf.get('bass')?.roots ?? null,
      durationSec: this.frames / this.sampleRate,
    };
  }
}

/**
 * Seconds from an onset frame index to the audio time it reports: the flux of frame t compares
 * the windows starting at t·hop and (t−1)·hop, so an onset inside the newer window's first half
 * lands on t. Half a window is the centre; a sharp attack peaks a little earlier.
 */
export function onsetFrameTime(frame: number, fps: number): number {
  return (frame + 0.5 * (ONSET_N / ONSET_HOP) * 0.75) / fps;
}
