/**
 * Tempo (BPM), beat grid and first downbeat from onset-strength envelopes (features.ts).
 *
 * 1. Novelty: band fluxes weighted toward kick and snare (hats and cymbals count half), minus
 *    a 0.5 s moving average, half-wave rectified.
 * 2. Tempo: autocorrelation of the novelty; each candidate tempo T (50–220 BPM) scores the mean
 *    autocorrelation at its beat multiples k·60/T up to 4 s ("comb"). A slower tempo that hits
 *    only a subset of those multiples scores at least as much, so the chosen beat is the
 *    fastest peak whose score reaches 80% of the best (the level of the pulse a musician counts:
 *    kick and snare on the beats, lighter hats between them), weighed by a broad prior around
 *    110 BPM. The peak is then refined on a 0.01 BPM grid with multiples up to 20 s.
 * 3. Beats: dynamic-programming beat tracking (Ellis 2007) with that period.
 * 4. Downbeat: the beat phase (of 4) with the most kick and bass onsets and the fewest snares.
 */
import { onsetFrameTime, type Features, type OnsetBands } from './features.ts';

export interface TempoResult {
  bpm: number;
  /** Beat times in seconds. */
  beats: number[];
  /** Time of the first downbeat (a beat of `beats`), seconds; null when too few beats. */
  downbeat: number | null;
  /** Comb score of the chosen tempo relative to its neighbourhood's floor (0..1, higher = clearer pulse). */
  strength: number;
}

export function novelty(b: OnsetBands, fps: number, weights = { low: 1, mid: 1, high: 0.5 }): Float32Array {
  const n = b.low.length;
  const raw = new Float32Array(n);
  for (let i = 0; i < n; i++) raw[i] = weights.low * b.low[i] + weights.mid * b.mid[i] + weights.high * b.high[i];
  return detrend(raw, fps);
}

/** Flux below this (linear magnitude, full scale = 1) is rounding noise, not an onset (a hit at -60 dBFS gives ~0.1). */
const MIN_FLUX = 1e-3;

/** Subtracts a centred moving average (0.5 s), clips at 0, scales to unit standard deviation. */
export function detrend(raw: Float32Array, fps: number): Float32Array {
  const n = raw.length;
  const half = Math.max(1, Math.round(0.25 * fps));
  const out = new Float32Array(n);
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i] + raw[i];
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.max(0, i - half);
    const b = Math.min(n, i + half + 1);
    const v = raw[i] - (prefix[b] - prefix[a]) / (b - a);
    out[i] = v > 0 ? v : 0;
    ss += out[i] * out[i];
  }
  const sd = Math.sqrt(ss / Math.max(1, n));
  // No onsets at all (silence, a drone: only rounding noise in the flux): an all-zero envelope.
  if (sd < MIN_FLUX) return out.fill(0);
  for (let i = 0; i < n; i++) out[i] /= sd;
  return out;
}

function autocorrelation(x: Float32Array, maxLag: number): Float64Array {
  const n = x.length;
  const L = Math.min(maxLag, n - 1);
  const ac = new Float64Array(L + 1);
  for (let l = 0; l <= L; l++) {
    let s = 0;
    for (let i = l; i < n; i++) s += x[i] * x[i - l];
    ac[l] = s / (n - l);
  }
  return ac;
}

function interp(a: Float64Array, x: number): number {
  const i = Math.floor(x);
  if (i < 0 || i + 1 >= a.length) return 0;
  const f = x - i;
  return a[i] * (1 - f) + a[i + 1] * f;
}

/** Mean autocorrelation at the multiples of the beat period of `bpm`, up to `spanSec`. */
function comb(ac: Float64Array, bpm: number, fps: number, spanSec: number): number {
  const P = (60 / bpm) * fps;
  const K = Math.max(1, Math.floor((spanSec * fps) / P));
  let s = 0;
  let k = 1;
  for (; k <= K; k++) {
    const lag = k * P;
    if (lag + 1 >= ac.length) break;
    // max over ±1 frame of quantisation at this multiple, interpolated
    s += Math.max(interp(ac, lag), interp(ac, lag - 0.5), interp(ac, lag + 0.5));
  }
  return k > 1 ? s / (k - 1) : 0;
}

const MIN_BPM = 50;
const MAX_BPM = 220;

function prior(bpm: number): number {
  const z = Math.log2(bpm / 110) / 1.2;
  return Math.exp(-0.5 * z * z);
}

/**
 * Backbeat evidence for a beat grid (frame indices of the beats of one candidate tempo): the
 * share of snare-like onsets that sit on every other beat of the grid (the 2 and 4), minus the
 * share elsewhere (on the other beats, or between beats). A rock, pop, funk or dance groove
 * scores near 1 on its true beat, about 0 or below on double the tempo (snare on one beat in
 * four) and on half (snare between the beats).
 */
export function backbeat(snare: Float32Array, beats: number[], w = 2): number {
  if (beats.length < 8) return 0;
  let total = 0;
  for (let i = beats[0]; i <= beats[beats.length - 1] && i < snare.length; i++) total += snare[i];
  if (!(total > 0)) return 0;
  const E = [0, 0, 0, 0];
  for (let i = 0; i < beats.length; i++) {
    let s = 0;
    for (let t = Math.max(beats[0], beats[i] - w); t <= beats[i] + w && t < snare.length; t++) s += snare[t];
    E[i % 4] += s;
  }
  const on = E[0] + E[1] + E[2] + E[3];
  const off = Math.max(0, total - on);
  let best = -Infinity;
  for (const p of [0, 1]) best = Math.max(best, (2 * Math.min(E[p], E[p + 2]) - E[1 - p] - E[3 - p] - off) / total);
  return best;
}

/** Snare-like onsets: mid-band onsets minus the kick's share (both unit-variance novelty). */
export function snareEnvelope(b: OnsetBands, fps: number): Float32Array {
  const kick = detrend(b.low, fps);
  const mid = detrend(b.mid, fps);
  const s = new Float32Array(mid.length);
  for (let i = 0; i < s.length; i++) s[i] = Math.max(0, mid[i] - kick[i]);
  return s;
}

/** Chooses between half, same and double tempo by the backbeat when the drums have one. */
export function resolveOctave(bpm: number, env: Float32Array, bands: OnsetBands, fps: number, periodicity: (bpm: number) => number): number {
  const snare = snareEnvelope(bands, fps);
  // only tempi whose pulse the onsets support at all (comb ≥ 70% of the chosen one's)
  const p0 = periodicity(bpm);
  const family = [bpm * 2, bpm, bpm / 2].filter((c) => c >= MIN_BPM && c <= MAX_BPM && (c === bpm || periodicity(c) >= 0.7 * p0));
  // the fastest tempo with a clear backbeat; none: keep the periodicity's choice
  for (const c of family) if (backbeat(snare, trackBeats(env, fps, c)) >= 0.4) return c;
  return bpm;
}

/** The beat period in BPM from a novelty envelope, or null when there is no pulse. */
export function estimateBpm(env: Float32Array, fps: number, bands?: OnsetBands): { bpm: number; strength: number } | null {
  const durSec = env.length / fps;
  if (durSec < 3) return null;
  const ac = autocorrelation(env, Math.ceil(Math.min(durSec * 0.75, 22) * fps));
  const span = Math.min(4, durSec / 3);
  const grid: number[] = [];
  const score: number[] = [];
  for (let bpm = MIN_BPM; bpm <= MAX_BPM + 1e-9; bpm += 0.25) {
    grid.push(bpm);
    score.push(comb(ac, bpm, fps, Math.max(span, (2 * 60) / bpm)));
  }
  let best = -Infinity;
  for (const s of score) best = Math.max(best, s);
  // no periodicity worth the name: random onsets correlate at about ±1/√N of lag 0
  if (!(best > 0.05 * ac[0])) return null;
  // local maxima
  const peaks: number[] = [];
  for (let i = 1; i < grid.length - 1; i++) if (score[i] >= score[i - 1] && score[i] > score[i + 1]) peaks.push(i);
  if (!peaks.length) return null;
  let pick = -1;
  let pickVal = -Infinity;
  for (const i of peaks) {
    if (score[i] < 0.8 * best) continue;
    // fastest qualifying peak, unless the prior strongly prefers another qualifying one
    const v = Math.log(grid[i]) + 2 * Math.log(prior(grid[i]));
    if (v > pickVal) {
      pickVal = v;
      pick = i;
    }
  }
  if (pick < 0) return null;
  // refine with long-span multiples on a fine grid
  const coarse = bands ? resolveOctave(grid[pick], env, bands, fps, (b) => comb(ac, b, fps, Math.max(span, (2 * 60) / b))) : grid[pick];
  const spanFine = Math.min(20, durSec * 0.7);
  let fineBest = coarse;
  let fineVal = -Infinity;
  for (let bpm = coarse * 0.985; bpm <= coarse * 1.015; bpm += 0.01) {
    const v = comb(ac, bpm, fps, spanFine);
    if (v > fineVal) {
      fineVal = v;
      fineBest = bpm;
    }
  }
  let floor = Infinity;
  for (const s of score) floor = Math.min(floor, s);
  const strength = Math.max(0, Math.min(1, (score[pick] - Math.max(0, floor)) / Math.max(1e-9, score[pick] + 1e-9)));
  return { bpm: fineBest, strength };
}

/** Ellis (2007) dynamic-programming beat tracker: frame indices of the beats. */
export function trackBeats(env: Float32Array, fps: number, bpm: number, tightness = 100): number[] {
  const n = env.length;
  const P = (60 / bpm) * fps;
  if (n < 2 * P) return [];
  const score = new Float64Array(n);
  const back = new Int32Array(n).fill(-1);
  const lo = Math.round(P / 2);
  const hi = Math.round(2 * P);
  for (let t = 0; t < n; t++) {
    let best = 0;
    let arg = -1;
    for (let tau = t - hi; tau <= t - lo; tau++) {
      if (tau < 0) continue;
      const r = Math.log((t - tau) / P);
      const v = score[tau] - tightness * r * r;
      if (arg < 0 || v > best) {
        best = v;
        arg = tau;
      }
    }
    score[t] = env[t] + (arg >= 0 ? Math.max(0, best) : 0);
    back[t] = arg >= 0 && best > 0 ? arg : -1;
  }
  // last beat: the best-scoring frame within the last period
  let end = n - 1;
  let endVal = -Infinity;
  for (let t = Math.max(0, n - Math.ceil(P)); t < n; t++)
    if (score[t] > endVal) {
      endVal = score[t];
      end = t;
    }
  const beats: number[] = [];
  for (let t = end; t >= 0; t = back[t]) {
    beats.push(t);
    if (back[t] < 0) break;
  }
  beats.reverse();
  return beats;
}

/**
 * Tempo from the tracked beats: each beat moved to the onset peak within ±2 frames (parabolic
 * interpolation), then a least-squares line through beat number → time. Much finer than the
 * autocorrelation grid on a steady song; null (keep the autocorrelation's tempo) when the beats
 * do not fit a line within 4% of a period or the slope strays over 2% from it.
 */
export function fitBpm(env: Float32Array, beats: number[], fps: number, bpm: number): number | null {
  if (beats.length < 8) return null;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < beats.length; i++) {
    let t = beats[i];
    for (let d = -2; d <= 2; d++) if ((env[beats[i] + d] ?? -1) > env[t]) t = beats[i] + d;
    const a = env[t - 1] ?? env[t];
    const b = env[t];
    const c = env[t + 1] ?? env[t];
    const den = a - 2 * b + c;
    const off = den < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den)) : 0;
    xs.push(i);
    ys.push(t + off);
  }
  const n = xs.length;
  const mx = xs.reduce((p, v) => p + v, 0) / n;
  const my = ys.reduce((p, v) => p + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  const slope = sxy / sxx; // frames per beat
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (ys[i] - (my + slope * (xs[i] - mx))) ** 2;
  const P = (60 / bpm) * fps;
  if (Math.sqrt(ss / n) > 0.04 * P || Math.abs(slope - P) > 0.02 * P) return null;
  return (60 * fps) / slope;
}

/** Index (into `beats`) of the first downbeat, assuming 4 beats to the bar. */
export function findDownbeat(beats: number[], kick: Float32Array, snare: Float32Array, bassLow: Float32Array | null): number | null {
  if (beats.length < 8) return null;
  const at = (x: Float32Array, t: number) => Math.max(x[t] ?? 0, x[t + 1] ?? 0, x[t - 1] ?? 0);
  const score = [0, 0, 0, 0];
  for (let i = 0; i < beats.length; i++) {
    const t = beats[i];
    const p = i % 4;
    score[p] += at(kick, t) - at(snare, t) + (bassLow ? at(bassLow, t) : 0);
  }
  let best = 0;
  for (let p = 1; p < 4; p++) if (score[p] > score[best]) best = p;
  return best;
}

/** What tempo and beat tracking read of the collected features. */
export type TempoInput = Pick<Features, 'fps' | 'drums' | 'bass' | 'mix' | 'drumsPower' | 'mixPower'>;

/** Drums quieter than this (relative to the mix, in power) count as "no drums": the mix is used. */
export const DRUMS_SILENT_RATIO = 10 ** (-30 / 10);

export function analyzeTempo(f: TempoInput): (TempoResult & { source: 'drums' | 'mix' }) | null {
  const useDrums = f.drums !== null && f.drumsPower > 1e-9 && f.drumsPower >= DRUMS_SILENT_RATIO * f.mixPower;
  const bands = useDrums ? f.drums! : f.mix;
  const env = novelty(bands, f.fps);
  const est = estimateBpm(env, f.fps, bands);
  if (!est) return null;
  const frames = trackBeats(env, f.fps, est.bpm);
  const beats = frames.map((t) => onsetFrameTime(t, f.fps));
  const fitted = fitBpm(env, frames, f.fps, est.bpm);
  const kick = detrend(bands.low, f.fps);
  const snare = detrend(bands.mid, f.fps);
  const bassLow = f.bass ? detrend(f.bass.low, f.fps) : null;
  const d = findDownbeat(frames, kick, snare, bassLow);
  return {
    bpm: Math.round((fitted ?? est.bpm) * 10) / 10,
    beats: beats.map((b) => Math.round(b * 1000) / 1000),
    downbeat: d === null ? null : Math.round(beats[d] * 1000) / 1000,
    strength: est.strength,
    source: useDrums ? 'drums' : 'mix',
  };
}
