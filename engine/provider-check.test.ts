/**
 * GPU providers prove themselves before they are trusted, and a provider that fails mid-job
 * hands the job to the CPU. No GPU runs on this machine, so the providers here are TEST DOUBLES
 * (`FakeProviderRunner`): a cheap deterministic stand-in "model" (each stem = the spectral input
 * scaled by a per-stem gain), wearing a provider's name, that can be made to return wrong numbers,
 * NaN, be slow (simulated run time, no wall clock), or throw at its n-th run. The CPU reference is
 * the same stand-in without faults, so "matches the CPU" and "differs from the CPU" are real
 * comparisons through the real self-check, separator and DSP code.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { getModel } from '../models/registry.ts';
import { resolveFfmpeg } from './ffmpeg.ts';
import { benchProviders, chooseTrustedProvider, MIN_AGREEMENT_DB, selfCheckClip, VerdictCache, verdictKey } from './provider-check.ts';
import { Separator } from './separator.ts';
import type { ModelRunner, ProviderName } from './session.ts';
import type { DeviceChoice } from './types.ts';

interface Fault {
  /** Relative size of an error added to every output value (wrong numbers). */
  noise?: number;
  nan?: boolean;
  /** Simulated time of one run, ms (reported as runMs; nothing sleeps). */
  simulatedMs?: number;
  /** Throw at this run (1-based) and every later one. */
  throwAtRun?: number;
  /** Throw when created. */
  throwOnCreate?: boolean;
}

/** TEST DOUBLE of an execution provider running HTDemucs (see the file comment). */
class FakeProviderRunner implements ModelRunner {
  runs = 0;
  readonly fallbackReason = null;
  readonly loadMs = 1;
  constructor(
    readonly provider: ProviderName,
    private readonly fault: Fault = {},
  ) {}
  async run(mix: Float32Array, _mixDims: number[], spec: Float32Array, _specDims: number[]) {
    this.runs++;
    if (this.fault.throwAtRun && this.runs >= this.fault.throwAtRun) throw new Error('CUDA error: out of memory (test double)');
    const S = 4;
    const specOut = new Float32Array(S * spec.length);
    const gains = [0.4, 0.3, 0.2, 0.1];
    for (let s = 0; s < S; s++) for (let i = 0; i < spec.length; i++) specOut[s * spec.length + i] = gains[s] * spec[i];
    const timeOut = new Float32Array(S * mix.length);
    let seed = 1;
    if (this.fault.noise) {
      for (let i = 0; i < specOut.length; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        specOut[i] *= 1 + this.fault.noise * (seed / 2147483648 - 1);
      }
    }
    if (this.fault.nan) timeOut[12345] = NaN;
    return { specOut, timeOut, runMs: this.fault.simulatedMs ?? 1000, mix, spec };
  }
  async dispose() {}
}

/** A runner factory handing out test doubles; counts what it created. */
function fakeFactory(faults: Partial<Record<ProviderName, Fault>>) {
  const created: FakeProviderRunner[] = [];
  const make = async (p: ProviderName | DeviceChoice) => {
    const provider = (p === 'auto' ? 'cpu' : p) as ProviderName;
    const f = faults[provider] ?? {};
    if (f.throwOnCreate) throw new Error(`${provider}: device not found (test double)`);
    const r = new FakeProviderRunner(provider, f);
    created.push(r);
    return r;
  };
  return { make, created };
}

// The real manifest's layout with a short segment and small FFT: the test doubles do not care,
// and the real DSP around them stays fast.
const manifest = { ...getModel('htdemucs'), id: 'tiny-test', segment: 22050, stft: { nFft: 512, hop: 128 } };
const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'demix-pcheck-'));

describe('provider self-check (test-double providers)', () => {
  it('trusts a provider that matches the CPU and is faster; caches the verdict; recheck runs it again', async () => {
    const cache = new VerdictCache(tmp());
    const f = fakeFactory({ cpu: { simulatedMs: 3000 }, cuda: { simulatedMs: 300 } });
    const r = await chooseTrustedProvider(['cuda', 'cpu'], f.make, manifest, { cache });
    expect(r.provider).toBe('cuda');
    expect(r.fallbackReason).toBeNull();
    expect(r.verdicts[0]).toMatchObject({ provider: 'cuda', trusted: true, providerMs: 300, cpuMs: 3000, nonFinite: 0 });
    expect(r.verdicts[0].sdrDb).toBeGreaterThan(100); // identical numbers
    expect(f.created.map((x) => x.provider)).toEqual(['cpu', 'cuda']);

    const again = await chooseTrustedProvider(['cuda'], f.make, manifest, { cache });
    expect(again.provider).toBe('cuda');
    expect(f.created).toHaveLength(2); // from the cache: nothing ran

    await chooseTrustedProvider(['cuda'], f.make, manifest, { cache, recheck: true });
    expect(f.created).toHaveLength(4);
  });

  it('a provider with wrong numbers is not trusted: auto uses the cpu and says why', async () => {
    const f = fakeFactory({ cpu: { simulatedMs: 3000 }, cuda: { simulatedMs: 300, noise: 0.2 } });
    const r = await chooseTrustedProvider(['cuda'], f.make, manifest, { cache: new VerdictCache(tmp()) });
    expect(r.provider).toBe('cpu');
    expect(r.verdicts[0].sdrDb!).toBeLessThan(MIN_AGREEMENT_DB);
    expect(r.fallbackReason).toMatch(/^using cpu: cuda not used: its stems differ from the CPU's \(SDR [\d.]+ dB < 40 dB\)/);
  });

  it('a slower provider, one with NaN, one that cannot start or throws: none trusted, each with its reason', async () => {
    const cases: [Fault, RegExp][] = [
      [{ simulatedMs: 5000 }, /cuda not used: it is not faster than the CPU \(5\.00 s vs 3\.00 s per segment\)/],
      [{ simulatedMs: 300, nan: true }, /cuda not used: its output has \d+ NaN\/Inf values/],
      [{ throwOnCreate: true }, /cuda not used: the self-check failed \(cuda: device not found/],
      [{ simulatedMs: 300, throwAtRun: 2 }, /cuda not used: the self-check failed \(CUDA error: out of memory/],
    ];
    for (const [fault, reason] of cases) {
      const f = fakeFactory({ cpu: { simulatedMs: 3000 }, cuda: fault });
      const r = await chooseTrustedProvider(['cuda'], f.make, manifest, { cache: new VerdictCache(tmp()) });
      expect(r.provider).toBe('cpu');
      expect(r.fallbackReason).toMatch(reason);
    }
  });

  it('takes the next trusted provider when the first fails, and keeps the reason', async () => {
    const f = fakeFactory({ cpu: { simulatedMs: 3000 }, cuda: { noise: 0.5, simulatedMs: 100 }, webgpu: { simulatedMs: 900 } });
    const r = await chooseTrustedProvider(['cuda', 'webgpu', 'cpu'], f.make, manifest, { cache: new VerdictCache(tmp()) });
    expect(r.provider).toBe('webgpu');
    expect(r.fallbackReason).toMatch(/cuda not used: its stems differ/);
  });

  it('a verdict belongs to one machine, provider, ORT version and weights', () => {
    const k = verdictKey('cuda', manifest);
    expect(k).toContain(os.hostname());
    expect(k).toMatch(/\| cuda \| ort \d+\.\d+/);
    expect(k).toContain(manifest.weights.sha256.slice(0, 12));
    expect(verdictKey('webgpu', manifest)).not.toBe(k);
  });

  it('doctor --bench: one timed segment per provider with its realtime factor, or why it could not run', async () => {
    const f = fakeFactory({ cpu: { simulatedMs: 500 }, cuda: { simulatedMs: 50 }, webgpu: { throwOnCreate: true } });
    const b = await benchProviders(['cuda', 'webgpu', 'cpu'], f.make, manifest);
    const seconds = manifest.segment / manifest.sampleRate;
    expect(b[0]).toEqual({ provider: 'cuda', segmentMs: 50, realtimeFactor: expect.closeTo(seconds / 0.05, 6), error: null });
    expect(b[1]).toMatchObject({ provider: 'webgpu', segmentMs: null, realtimeFactor: null, error: expect.stringMatching(/device not found/) });
    expect(b[2]).toMatchObject({ provider: 'cpu', segmentMs: 500 });
  });

  it('the self-check clip is deterministic, finite and loud enough', () => {
    const a = selfCheckClip(44100);
    const b = selfCheckClip(44100);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    let peak = 0;
    for (const v of a) peak = Math.max(peak, Math.abs(v));
    expect(a.every(Number.isFinite)).toBe(true);
    expect(peak).toBeGreaterThan(0.3);
    expect(peak).toBeLessThan(1.5);
  });
});

describe('a provider that fails mid-job (test-double provider)', () => {
  it('finishes the job on the cpu from the failing segment, without starting over, and says so', async () => {
    const dir = tmp();
    const input = path.join(dir, 'song.wav');
    execFileSync(resolveFfmpeg().path, ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=3', '-f', 'lavfi', '-i', 'anoisesrc=d=3:a=0.05', '-filter_complex', 'amix=inputs=2,pan=stereo|c0=c0|c1=0.5*c0', '-ar', '44100', input]);
    const cacheDir = tmp();
    // a models folder with the small manifest and a stand-in weights file (the doubles never read it)
    const modelsDir = tmp();
    const weights = Buffer.from('test double weights');
    writeFileSync(path.join(modelsDir, 'tiny-test.onnx'), weights);
    const { manifestPath: _m, ...plain } = manifest;
    writeFileSync(path.join(modelsDir, 'tiny-test.json'), JSON.stringify({ ...plain, weights: { ...plain.weights, file: 'tiny-test.onnx', sha256: createHash('sha256').update(weights).digest('hex'), size: weights.length, npmPackage: undefined } }));
    const where = { modelId: 'tiny-test', modelsDir, cacheDir };

    // all on the cpu double: the reference output
    const cpuOnly = fakeFactory({ cpu: { simulatedMs: 3000 } });
    const ref = await Separator.create({ ...where, device: 'cpu', runnerFactory: (_w, d) => cpuOnly.make(d) });
    const refRes = await ref.separate(input, path.join(dir, 'ref'), { format: 'wav', bits: 32 });
    const segments = refRes.timings.runs;
    expect(segments).toBeGreaterThanOrEqual(4);

    // `auto`: cuda passes its self-check, then throws at its 3rd job segment
    const f = fakeFactory({ cpu: { simulatedMs: 3000 }, cuda: { simulatedMs: 300, throwAtRun: 3 } });
    const fallbacks: string[] = [];
    const sep = await Separator.create({ ...where, device: 'auto', providerCandidates: ['cuda'], runnerFactory: (_w, d) => f.make(d), onFallback: (r) => fallbacks.push(r) });
    expect(sep.provider).toBe('cuda');
    const res = await sep.separate(input, path.join(dir, 'out'), { format: 'wav', bits: 32 });
    await sep.dispose();

    expect(res.provider).toBe('cpu');
    expect(res.fallbackReason).toMatch(/^cuda failed at segment 3 \(CUDA error: out of memory \(test double\)\); finished on the cpu from that segment$/);
    expect(fallbacks).toEqual([res.fallbackReason]);
    // the self-check's cpu reference, the job's cuda runner, then one cpu runner for the rest
    expect(f.created.map((r) => r.provider)).toEqual(['cpu', 'cuda', 'cuda', 'cpu']);
    const [, , cuda, cpu] = f.created;
    expect(cuda.runs).toBe(3); // two good job segments, then the failure
    expect(cpu.runs).toBe(segments - 2); // the failed segment and the rest, nothing repeated
    expect(res.timings.runs).toBe(segments);
    // same stems as the cpu-only job, byte for byte (32-bit float wav)
    for (const s of ['drums', 'bass', 'other', 'vocals']) {
      const [a, b] = [readFileSync(path.join(dir, 'ref', `${s}.wav`)), readFileSync(path.join(dir, 'out', `${s}.wav`))];
      expect(a.length).toBeGreaterThan(3 * 44100 * 2 * 4); // 3 s of float stereo
      expect(b.equals(a)).toBe(true);
    }
  }, 120_000);
});

describe('Separator.timeSegment (test-double provider)', () => {
  it('a warm-up run, then one timed segment: the figure `demix worker` sets its job lock from', async () => {
    const modelsDir = tmp();
    const weights = Buffer.from('test double weights');
    writeFileSync(path.join(modelsDir, 'tiny-test.onnx'), weights);
    const { manifestPath: _m, ...plain } = manifest;
    writeFileSync(path.join(modelsDir, 'tiny-test.json'), JSON.stringify({ ...plain, weights: { ...plain.weights, file: 'tiny-test.onnx', sha256: createHash('sha256').update(weights).digest('hex'), size: weights.length, npmPackage: undefined } }));
    const f = fakeFactory({ cpu: { simulatedMs: 4321 } });
    const sep = await Separator.create({ modelId: 'tiny-test', modelsDir, cacheDir: tmp(), device: 'cpu', runnerFactory: (_w, d) => f.make(d) });
    expect(await sep.timeSegment()).toBe(4321);
    expect(f.created.map((r) => r.runs)).toEqual([2]);
    await sep.dispose();
  });
});
