/**
 * GPU execution providers prove themselves before they are trusted.
 *
 * Once per machine + provider + ONNX Runtime version + model weights, `auto` runs one segment of
 * the self-check clip on the provider and on the CPU. The provider is used only if its stems
 * match the CPU's (SDR of provider vs CPU stems ≥ 40 dB, no NaN/Inf) and it is faster; otherwise
 * the job runs on the CPU and the reason is shown. The verdict is cached (provider-checks.json in
 * the cache folder); `demix doctor --recheck` runs it again.
 *
 * The self-check clip is synthesised here (deterministic: kick, bass, chords, hi-hat noise and a
 * vowel-like voice), so it is always bundled with the code and needs no file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { defaultCacheDir, type ModelManifest } from '../models/registry.ts';
import { SpecTransform } from './dsp.ts';
import type { ModelRunner, ProviderName } from './session.ts';

/** Minimum SDR of provider stems against CPU stems for a provider to be trusted. */
export const MIN_AGREEMENT_DB = 40;

export interface ProviderVerdict {
  provider: ProviderName;
  trusted: boolean;
  /** Why it is not trusted (one line), or null. */
  reason: string | null;
  /** SDR of the provider's stems against the CPU's, dB (null if it did not run). */
  sdrDb: number | null;
  /** Steady-state time of one segment on the provider / on the CPU, ms. */
  providerMs: number | null;
  cpuMs: number | null;
  nonFinite: number;
  key: string;
  checkedAt: string;
}

function ortVersion(): string {
  try {
    const req = createRequire(import.meta.url);
    return (req('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Identifies machine + provider + library version + weights: a verdict is valid only for the same key. */
export function verdictKey(provider: ProviderName, manifest: Pick<ModelManifest, 'id' | 'weights'>): string {
  const cpu = os.cpus()[0]?.model ?? 'cpu';
  return [os.hostname(), `${process.platform}-${process.arch}`, cpu.trim(), provider, `ort ${ortVersion()}`, `${manifest.id}@${manifest.weights.sha256.slice(0, 12)}`].join(' | ');
}

/** Verdicts remembered on disk (written atomically). */
export class VerdictCache {
  readonly file: string;
  constructor(cacheDir = defaultCacheDir()) {
    this.file = path.join(cacheDir, 'provider-checks.json');
  }
  private read(): Record<string, ProviderVerdict> {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, ProviderVerdict>;
    } catch {
      return {};
    }
  }
  get(key: string): ProviderVerdict | null {
    return this.read()[key] ?? null;
  }
  set(v: ProviderVerdict): void {
    const all = this.read();
    all[v.key] = v;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.partial`;
      writeFileSync(tmp, JSON.stringify(all, null, 1));
      renameSync(tmp, this.file);
    } catch {
      // an unwritable cache only means checking again next time
    }
  }
}

/** The self-check clip: `frames` stereo samples at `sr`, planar [L..., R...]. Deterministic. */
export function selfCheckClip(frames: number, sr = 44100): Float32Array {
  const out = new Float32Array(2 * frames);
  let seed = 12345;
  const noise = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 2147483648 - 1;
  };
  const beat = Math.round(sr * 0.5); // 120 bpm
  const chord = [220, 277.18, 329.63]; // A major
  for (let i = 0; i < frames; i++) {
    const t = i / sr;
    const inBeat = i % beat;
    const tb = inBeat / sr;
    const kick = inBeat < 0.25 * sr ? Math.sin(2 * Math.PI * (50 + 60 * Math.exp(-tb * 30)) * tb) * Math.exp(-tb * 12) : 0;
    const hat = (i + beat / 2) % (beat / 2) < 0.04 * sr ? noise() * 0.15 * Math.exp(-(((i + beat / 2) % (beat / 2)) / sr) * 80) : 0;
    const bassF = [55, 55, 73.42, 82.41][Math.floor(t / 2) % 4];
    const bass = 0.35 * Math.tanh(2 * Math.sin(2 * Math.PI * bassF * t));
    let pad = 0;
    for (const f of chord) pad += 0.06 * (Math.sin(2 * Math.PI * f * t) + 0.3 * Math.sin(4 * Math.PI * f * t));
    const vib = 1 + 0.01 * Math.sin(2 * Math.PI * 5 * t);
    const f0 = [196, 220, 246.94, 220][Math.floor(t) % 4] * vib;
    let voice = 0;
    for (let h = 1; h <= 12; h++) {
      const fh = h * f0;
      const formant = Math.exp(-(((fh - 700) / 300) ** 2)) + 0.6 * Math.exp(-(((fh - 1200) / 400) ** 2));
      voice += (formant / h) * Math.sin(2 * Math.PI * fh * t);
    }
    voice *= 0.25 * (Math.floor(t * 2) % 2 === 0 ? 1 : 0.3);
    const m = 0.6 * kick + hat + bass + pad;
    out[i] = m + 0.8 * voice;
    out[frames + i] = m * 0.95 + 0.7 * voice + 0.05 * pad;
  }
  return out;
}

export interface SegmentOutput {
  /** Stems [S][2][segment] flattened (time branch + iSTFT of the spectral branch). */
  stems: Float32Array;
  runMs: number;
}

/** Runs one prepared segment and turns the model's two outputs into stems. */
export async function runSegment(runner: ModelRunner, manifest: ModelManifest, mix: Float32Array): Promise<SegmentOutput> {
  const { segment, stft } = manifest;
  const st = new SpecTransform(stft.nFft, stft.hop, segment);
  const spec = new Float32Array(4 * st.bins * st.frames);
  st.forward(mix, spec);
  const res = await runner.run(Float32Array.from(mix), [1, 2, segment], spec, [1, 4, st.bins, st.frames]);
  const stems = Float32Array.from(res.timeOut);
  st.inverseAdd(res.specOut, stems, manifest.stems.length);
  return { stems, runMs: res.runMs };
}

/** SDR of `est` against `ref` over all stems and channels, dB; and how many values are NaN/Inf. */
export function agreement(ref: Float32Array, est: Float32Array): { sdrDb: number; nonFinite: number } {
  let num = 0;
  let den = 0;
  let nonFinite = 0;
  if (ref.length !== est.length) return { sdrDb: -Infinity, nonFinite: 0 };
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(est[i])) {
      nonFinite++;
      continue;
    }
    num += ref[i] * ref[i];
    den += (ref[i] - est[i]) ** 2;
  }
  return { sdrDb: 10 * Math.log10((num + 1e-12) / (den + 1e-12)), nonFinite };
}

export type RunnerFactory = (provider: ProviderName) => Promise<ModelRunner>;

/** The CPU's reference for the self-check (computed once per check round). */
export interface CpuReference {
  stems: Float32Array;
  runMs: number;
}

export async function cpuReference(makeRunner: RunnerFactory, manifest: ModelManifest): Promise<CpuReference> {
  const mix = selfCheckClip(manifest.segment, manifest.sampleRate);
  const cpu = await makeRunner('cpu');
  try {
    // two runs: the first of a session is slower (allocations); judge on the steady state
    await runSegment(cpu, manifest, mix);
    const r = await runSegment(cpu, manifest, mix);
    return { stems: r.stems, runMs: r.runMs };
  } finally {
    await cpu.dispose();
  }
}

/** Runs the self-check of one provider against the CPU reference. Never throws: failure is a verdict. */
export async function checkProvider(provider: ProviderName, makeRunner: RunnerFactory, manifest: ModelManifest, ref: CpuReference): Promise<ProviderVerdict> {
  const base = { provider, key: verdictKey(provider, manifest), checkedAt: new Date().toISOString(), cpuMs: ref.runMs };
  const fail = (reason: string, extra: Partial<ProviderVerdict> = {}): ProviderVerdict => ({ trusted: false, reason: `${provider} not used: ${reason}`, sdrDb: null, providerMs: null, nonFinite: 0, ...base, ...extra });
  const mix = selfCheckClip(manifest.segment, manifest.sampleRate);
  let runner: ModelRunner | null = null;
  try {
    runner = await makeRunner(provider);
    if (runner.provider !== provider) return fail(`it could not start (${runner.fallbackReason ?? `got ${runner.provider}`})`);
    const first = await runSegment(runner, manifest, mix);
    const second = await runSegment(runner, manifest, mix);
    const out = second;
    const a1 = agreement(ref.stems, first.stems);
    const a2 = agreement(ref.stems, out.stems);
    const sdrDb = Math.min(a1.sdrDb, a2.sdrDb);
    const nonFinite = a1.nonFinite + a2.nonFinite;
    const extra = { sdrDb, providerMs: out.runMs, nonFinite };
    if (nonFinite > 0) return fail(`its output has ${nonFinite} NaN/Inf values in the self-check`, extra);
    if (!(sdrDb >= MIN_AGREEMENT_DB)) return fail(`its stems differ from the CPU's (SDR ${sdrDb.toFixed(1)} dB < ${MIN_AGREEMENT_DB} dB) in the self-check`, extra);
    if (!(out.runMs < ref.runMs)) return fail(`it is not faster than the CPU (${(out.runMs / 1000).toFixed(2)} s vs ${(ref.runMs / 1000).toFixed(2)} s per segment)`, extra);
    return { trusted: true, reason: null, ...base, ...extra };
  } catch (e) {
    return fail(`the self-check failed (${(e as Error).message.split('\n')[0].slice(0, 160)})`);
  } finally {
    await runner?.dispose().catch(() => {});
  }
}

export interface ChooseResult {
  /** First trusted provider of `candidates`, or 'cpu'. */
  provider: ProviderName;
  /** Why the preferred providers were passed over (null when the first candidate is used). */
  fallbackReason: string | null;
  verdicts: ProviderVerdict[];
}

/**
 * For `auto`: the first GPU provider (in `candidates` order) whose cached or fresh verdict trusts
 * it, else the CPU with the reasons. `recheck` ignores cached verdicts.
 */
export async function chooseTrustedProvider(
  candidates: ProviderName[],
  makeRunner: RunnerFactory,
  manifest: ModelManifest,
  opts: { cache?: VerdictCache; recheck?: boolean; log?: (line: string) => void } = {},
): Promise<ChooseResult> {
  const cache = opts.cache ?? new VerdictCache();
  const verdicts: ProviderVerdict[] = [];
  let ref: CpuReference | null = null;
  for (const p of candidates.filter((c) => c !== 'cpu')) {
    let v = opts.recheck ? null : cache.get(verdictKey(p, manifest));
    if (!v) {
      opts.log?.(`Checking that ${p} gives the CPU's results (once per machine and version)…`);
      ref ??= await cpuReference(makeRunner, manifest);
      v = await checkProvider(p, makeRunner, manifest, ref);
      cache.set(v);
    }
    verdicts.push(v);
    if (v.trusted) {
      const passed = verdicts.filter((x) => !x.trusted).map((x) => x.reason);
      return { provider: p, fallbackReason: passed.length ? passed.join('; ') : null, verdicts };
    }
  }
  const reasons = verdicts.map((v) => v.reason);
  return { provider: 'cpu', fallbackReason: reasons.length ? `using cpu: ${reasons.join('; ')}` : null, verdicts };
}

export interface ProviderBench {
  provider: ProviderName;
  /** Steady-state time of one segment (second run), ms; null if it could not run. */
  segmentMs: number | null;
  /** Seconds of audio per second of model time for one segment (overlap not counted). */
  realtimeFactor: number | null;
  error: string | null;
}

/** `demix doctor --bench`: one segment of the self-check clip on each provider, timed. */
export async function benchProviders(providers: ProviderName[], makeRunner: RunnerFactory, manifest: ModelManifest): Promise<ProviderBench[]> {
  const mix = selfCheckClip(manifest.segment, manifest.sampleRate);
  const out: ProviderBench[] = [];
  for (const provider of providers) {
    let runner: ModelRunner | null = null;
    try {
      runner = await makeRunner(provider);
      if (runner.provider !== provider) throw new Error(`could not start (${runner.fallbackReason ?? runner.provider})`);
      await runSegment(runner, manifest, mix); // warm-up
      const r = await runSegment(runner, manifest, mix);
      out.push({ provider, segmentMs: r.runMs, realtimeFactor: manifest.segment / manifest.sampleRate / (r.runMs / 1000), error: null });
    } catch (e) {
      out.push({ provider, segmentMs: null, realtimeFactor: null, error: (e as Error).message.split('\n')[0].slice(0, 200) });
    } finally {
      await runner?.dispose().catch(() => {});
    }
  }
  return out;
}
