/**
 * Key (tonic + major/minor) from pitch-class profiles: the song's chroma (features.ts) is
 * correlated with the 24 rotations of a major and a minor key profile and the best one wins
 * (Krumhansl-Schmuckler). The profiles are Temperley's (Kostka-Payne corpus, 2007), which
 * separate relative major and minor better than the original probe-tone ones.
 *
 * Confidence: how far the best key's score stands above the runner-up's, scaled to 0..1 (a
 * margin of 0.2 or more counts as certain; relative major/minor and neighbouring keys on the
 * circle of fifths are the usual runners-up). A flat or silent chroma gives no key at all.
 */
const CERTAIN_MARGIN = 0.2;

export const PITCH_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;

/** Temperley (2007), Kostka-Payne corpus: probability of each scale degree from the tonic. */
export const MAJOR_PROFILE = [0.748, 0.06, 0.488, 0.082, 0.67, 0.46, 0.096, 0.715, 0.104, 0.366, 0.057, 0.4];
export const MINOR_PROFILE = [0.712, 0.084, 0.474, 0.618, 0.049, 0.46, 0.105, 0.747, 0.404, 0.067, 0.133, 0.33];

/**
 * Bass lines come back to the tonic: the share of the bass's root notes (features.ts: the
 * strongest fundamental of each frame) on a key's tonic is added to that key's correlation,
 * times this weight. It tells a minor key from its relative major when the chords are the same
 * (Am–F–C–G–Am vs C–G–Am–F: the bass dwells on A, not C).
 */
const BASS_WEIGHT = 1;

export interface KeyResult {
  /** 0 = C … 11 = B */
  tonic: number;
  mode: 'major' | 'minor';
  /** e.g. "G major", "F# minor" */
  name: string;
  confidence: number;
  /** Correlation of the best key. */
  correlation: number;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>, rot: number): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < 12; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= 12;
  mb /= 12;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < 12; i++) {
    // key with tonic `rot`: pitch class i is degree (i - rot)
    const x = a[i] - ma;
    const y = b[(i - rot + 12) % 12] - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

export function keyName(tonic: number, mode: 'major' | 'minor'): string {
  return `${PITCH_NAMES[tonic]} ${mode}`;
}

/**
 * The best of the 24 keys for a 12-bin chroma (index 0 = C), or null for silence; `bass` (the
 * bass stem's own chroma), when given, adds its correlation with the bass profiles.
 */
export function estimateKey(chroma: ArrayLike<number>, bass?: ArrayLike<number> | null): KeyResult | null {
  let total = 0;
  for (let i = 0; i < 12; i++) total += chroma[i];
  if (!(total > 1e-9)) return null;
  let bassTotal = 0;
  for (let i = 0; i < 12 && bass; i++) bassTotal += bass[i];
  const share = (t: number) => (bass && bassTotal > 1e-9 ? (BASS_WEIGHT * bass[t]) / bassTotal : 0);
  const scores: { tonic: number; mode: 'major' | 'minor'; r: number; s: number }[] = [];
  for (let t = 0; t < 12; t++) {
    const maj = pearson(chroma, MAJOR_PROFILE, t);
    const min = pearson(chroma, MINOR_PROFILE, t);
    scores.push({ tonic: t, mode: 'major', r: maj, s: maj + share(t) });
    scores.push({ tonic: t, mode: 'minor', r: min, s: min + share(t) });
  }
  scores.sort((a, b) => b.s - a.s);
  const [best, second] = scores;
  if (!(best.r > 0)) return null;
  return {
    tonic: best.tonic,
    mode: best.mode,
    name: keyName(best.tonic, best.mode),
    confidence: Math.round(Math.max(0, Math.min(1, (best.s - second.s) / CERTAIN_MARGIN)) * 100) / 100,
    correlation: best.r,
  };
}

/**
 * Combines the harmonic stems' chroma: each stem's profile is normalised to sum 1 first, so a
 * loud stem does not drown the others; the bass (which spells out roots) counts as much as the
 * rest together, vocals half.
 */
export function combineChroma(chroma: Record<string, ArrayLike<number>>): Float64Array {
  const out = new Float64Array(12);
  const weightOf = (name: string) => (name === 'bass' ? 1 : name === 'vocals' ? 0.5 : 1);
  const others = Object.keys(chroma).filter((n) => n !== 'bass' && n !== 'vocals');
  for (const [name, c] of Object.entries(chroma)) {
    let s = 0;
    for (let i = 0; i < 12; i++) s += c[i];
    if (!(s > 1e-9)) continue;
    const w = weightOf(name) / (others.includes(name) ? others.length : 1);
    for (let i = 0; i < 12; i++) out[i] += (w * c[i]) / s;
  }
  return out;
}
