/**
 * Musical analysis of a separated song: tempo and beat grid from the drums stem (the mix when
 * the drums are near silent), key from the harmonic stems. `FeatureCollector` gathers features
 * while the separator writes the stems (engine worker thread); `analyzeFeatures` turns them into
 * the result at the end of the job. `analyzeStemFiles` does the same from stem files on disk.
 */
import { decodeAudio } from '../decode.ts';
import { FeatureCollector, type Features } from './features.ts';
import { combineChroma, estimateKey } from './key.ts';
import { analyzeTempo } from './tempo.ts';
import type { SongAnalysis } from '../types.ts';

export { FeatureCollector } from './features.ts';

export type TrackAnalysis = SongAnalysis;

export function analyzeFeatures(f: Features): Omit<TrackAnalysis, 'ms'> {
  const tempo = analyzeTempo(f);
  const key = estimateKey(combineChroma(f.chroma), f.bassRoots);
  return {
    bpm: tempo?.bpm ?? null,
    beats: tempo?.beats ?? [],
    downbeat: tempo?.downbeat ?? null,
    tempoSource: tempo?.source ?? null,
    key: key?.name ?? null,
    keyConfidence: key?.confidence ?? null,
  };
}

/** The result from a collector that has seen the whole song; `ms` = its streaming share + this step. */
export function finishAnalysis(collector: FeatureCollector): TrackAnalysis {
  const t0 = performance.now();
  const r = analyzeFeatures(collector.finish());
  return { ...r, ms: collector.pushMs + performance.now() - t0 };
}

/** Analyses stems on disk (any format ffmpeg reads), e.g. `{ drums: '…/drums.wav', bass: … }`. */
export async function analyzeStemFiles(files: Record<string, string>, sampleRate = 44100): Promise<TrackAnalysis> {
  const t0 = performance.now();
  const names = Object.keys(files);
  const collector = new FeatureCollector(names, sampleRate);
  const decoded: Float32Array[] = [];
  for (const name of names) {
    const parts: Float32Array[] = [];
    let len = 0;
    for await (const c of decodeAudio(files[name], { sampleRate, channels: 2 })) {
      parts.push(c.slice());
      len += c.length;
    }
    const all = new Float32Array(len);
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    decoded.push(all);
  }
  const frames = Math.max(...decoded.map((d) => d.length >> 1));
  const block = 65536;
  const src = names.map(() => [new Float32Array(block), new Float32Array(block)]);
  for (let start = 0; start < frames; start += block) {
    const n = Math.min(block, frames - start);
    for (let s = 0; s < names.length; s++) {
      const d = decoded[s];
      const [l, r] = src[s];
      for (let t = 0; t < n; t++) {
        const i = 2 * (start + t);
        l[t] = i < d.length ? d[i] : 0;
        r[t] = i + 1 < d.length ? d[i + 1] : 0;
      }
    }
    collector.push(
      src.map(([l, r]) => [l.subarray(0, n), r.subarray(0, n)]),
      n,
    );
  }
  const r = analyzeFeatures(collector.finish());
  return { ...r, ms: performance.now() - t0 };
}
