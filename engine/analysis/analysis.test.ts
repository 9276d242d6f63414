import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FeatureCollector } from './features.ts';
import { analyzeFeatures, analyzeStemFiles } from './index.ts';
import { estimateKey, keyName } from './key.ts';
import { GROOVES, PROGRESSIONS, renderGroove, renderProgression, SR } from './synth.ts';

/** Feeds mono stems (as both channels) through the streaming collector in separator-sized blocks. */
function analyzeMono(stems: Record<string, Float32Array>) {
  const names = Object.keys(stems);
  const c = new FeatureCollector(names, SR);
  const len = Math.max(...names.map((n) => stems[n].length));
  const B = 85_995; // the separator's emit block (stride) for htdemucs
  for (let s = 0; s < len; s += B) {
    const n = Math.min(B, len - s);
    c.push(
      names.map((k) => {
        const x = stems[k].subarray(s, s + n);
        return [x, x];
      }),
      n,
    );
  }
  return analyzeFeatures(c.finish());
}

const silent = (n: number) => new Float32Array(n);

describe('tempo and beats from the drums stem', () => {
  // Every groove at tempi spread over 70-170 BPM (different ones per groove, so that the whole
  // range is covered at every 2-3 BPM between them), a human ±4 ms timing error, 14 s each.
  const cases = GROOVES.flatMap((g, gi) => [70, 93, 117, 141, 170].map((base) => ({ g, bpm: base + ((gi * 3.7) % 7) * (base === 170 ? 0 : 1) })));
  it.each(cases.map((c) => [c.g.name, c.bpm, c] as const))('%s at %d BPM: within ±1 BPM (half/double is wrong), beats on the grid', (_n, bpm, c) => {
    const { audio, beats } = renderGroove({ bpm, groove: c.g, seconds: 14, seed: Math.round(bpm * 10), jitterMs: 4, offsetSec: 0.3 });
    const r = analyzeMono({ drums: audio, bass: silent(audio.length), other: silent(audio.length), vocals: silent(audio.length) });
    expect(r.tempoSource).toBe('drums');
    expect(r.bpm).not.toBeNull();
    expect(Math.abs(r.bpm! - bpm)).toBeLessThanOrEqual(1);
    // the tracked beats are the groove's beats (within 30 ms), not its off-beats
    const inner = r.beats.filter((t) => t > 1 && t < 13);
    expect(inner.length).toBeGreaterThan(8);
    for (const t of inner) expect(Math.min(...beats.map((b) => Math.abs(b - t)))).toBeLessThan(0.03);
  });

  it('finds the first downbeat of a rock groove with the bass on the one', () => {
    const bpm = 104;
    const { audio, downbeats } = renderGroove({ bpm, groove: GROOVES[0], seconds: 14, seed: 7, offsetSec: 0.5 });
    // a bass note on every downbeat
    const bass = new Float32Array(audio.length);
    for (const d of downbeats) {
      const s0 = Math.round(d * SR);
      for (let i = 0; i < 0.4 * SR && s0 + i < bass.length; i++) bass[s0 + i] = 0.4 * Math.sin((2 * Math.PI * 55 * i) / SR) * Math.exp(-i / (0.2 * SR));
    }
    const r = analyzeMono({ drums: audio, bass, other: silent(audio.length), vocals: silent(audio.length) });
    expect(r.downbeat).not.toBeNull();
    const barSec = (4 * 60) / bpm;
    const phase = (((r.downbeat! - downbeats[0]) % barSec) + barSec) % barSec;
    expect(Math.min(phase, barSec - phase)).toBeLessThan(0.03);
  });

  it('falls back to the mix when the drums stem is near silent', () => {
    const bpm = 96;
    const { audio } = renderGroove({ bpm, groove: GROOVES[0], seconds: 14, seed: 3 });
    // the drums stem holds only faint bleed (-50 dB); the rhythm is in "other" (e.g. a percussive guitar part)
    const bleed = audio.map((v) => v * 0.003);
    const r = analyzeMono({ drums: bleed, bass: silent(audio.length), other: audio, vocals: silent(audio.length) });
    expect(r.tempoSource).toBe('mix');
    expect(Math.abs(r.bpm! - bpm)).toBeLessThanOrEqual(1);
  });

  it('reports no tempo (not a made-up one) for silence and for a drone', () => {
    const n = 10 * SR;
    const drone = new Float32Array(n).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / SR));
    for (const other of [silent(n), drone]) {
      const r = analyzeMono({ drums: silent(n), bass: silent(n), other, vocals: silent(n) });
      expect(r.bpm).toBeNull();
      expect(r.beats).toEqual([]);
    }
  });
});

describe('key from the harmonic stems', () => {
  it('names the key of chord progressions in all 24 keys (≥ 90% exact)', () => {
    let exact = 0;
    let total = 0;
    const misses: string[] = [];
    for (const mode of ['major', 'minor'] as const)
      for (let tonic = 0; tonic < 12; tonic++) {
        // two of the four progressions per key (alternating), to keep the test quick
        for (const prog of PROGRESSIONS[mode].filter((_, i) => i % 2 === tonic % 2)) {
          const { other, bass } = renderProgression(tonic, mode, prog, { chordSec: 1, repeats: 1 });
          const r = analyzeMono({ drums: silent(other.length), bass, other, vocals: silent(other.length) });
          total++;
          if (r.key === keyName(tonic, mode)) exact++;
          else misses.push(`${keyName(tonic, mode)} ${prog.join('-')} → ${r.key}`);
          expect(r.keyConfidence).toBeGreaterThanOrEqual(0);
          expect(r.keyConfidence).toBeLessThanOrEqual(1);
        }
      }
    expect(total).toBe(48);
    expect(exact / total, misses.join('; ')).toBeGreaterThanOrEqual(0.9);
  });

  it('gives no key for silence and a low confidence for all twelve notes at once', () => {
    expect(estimateKey(new Float64Array(12))).toBeNull();
    const flatish = Float64Array.from({ length: 12 }, (_, i) => 1 + 0.01 * i);
    expect(estimateKey(flatish)!.confidence).toBeLessThan(0.5);
  });
});

/*
 * Known-answer fixtures (General MIDI renders; no MIDI files ship with them). How the ground
 * truth was established from the true stems, independently of this estimator, is written in
 * test/fixtures/known-answer/analysis-truth.json ("method"). In short: tempo from a grid fit of
 * the true drum onsets (coherence 1.00 at 92.00 / 110.01 / 128.00) and the backbeat; key from
 * the bass roots and triads per bar (song01 G minor; song00 and song02 are ambiguous 12 s
 * excerpts, so exactly the keys consistent with every chord tone and a played tonic triad count).
 */
describe('known-answer fixtures', () => {
  const dir = path.join(import.meta.dirname, '../../test/fixtures/known-answer');
  const { songs } = JSON.parse(readFileSync(path.join(dir, 'analysis-truth.json'), 'utf8')) as { songs: Record<string, { bpm: number; keys: string[]; barStart: number }> };
  const truth = Object.entries(songs).map(([song, t]) => ({ song, bpm: t.bpm, keys: t.keys, downbeat: t.barStart }));
  it.each(truth)('$song: tempo $bpm and key from the stems, tempo also from the mixture alone', async (t) => {
    const d = path.join(dir, t.song);
    const r = await analyzeStemFiles({ drums: `${d}/drums.flac`, bass: `${d}/bass.flac`, other: `${d}/other.flac`, vocals: `${d}/vocals.flac` });
    expect(Math.round(r.bpm!)).toBe(t.bpm);
    expect(t.keys).toContain(r.key);
    // bar-aligned: the chords change on the downbeats
    const bar = (4 * 60) / t.bpm;
    const ph = (((r.downbeat! - t.downbeat) % bar) + bar) % bar;
    expect(Math.min(ph, bar - ph)).toBeLessThan(0.04);
    const mix = await analyzeStemFiles({ mixture: `${d}/mixture.flac` });
    expect(mix.tempoSource).toBe('mix');
    expect(Math.round(mix.bpm!)).toBe(t.bpm);
  });
});
