/**
 * Where the engine's start-up goes, and what the ONNX Runtime session options change, measured in
 * one run (each variant in a fresh process, variants alternated round by round):
 *
 *  - worker start: a new engine worker thread until it answers its first message, from the
 *    TypeScript sources (tsx transpiles in the thread) and from the prebuilt dist/engine-worker.js;
 *  - model load (InferenceSession.create) and the first three session.run calls on the 30 s clip's
 *    first segments, for each session-option variant; the outputs are compared with the shipped
 *    options' (max |difference|), so a variant that changes the numbers shows it.
 *
 * Usage: node --import tsx scripts/bench-engine-start.ts [clip] [--rounds N] [--variants a,b]
 * (child: node --import tsx scripts/bench-engine-start.ts --child <variant> <clip> <cacheDir>)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);

async function child(variant: string, clip: string, cacheDir: string): Promise<void> {
  const { resolveModel } = await import('../models/registry.ts');
  const { readStereo } = await import('../engine/metrics.ts');
  const { SpecTransform } = await import('../engine/dsp.ts');
  const { sessionOptions, defaultThreads, ort } = await import('../engine/session.ts');
  const { manifest, weightsPath } = await resolveModel('htdemucs');
  const base = sessionOptions('cpu', defaultThreads());
  const optimized = path.join(cacheDir, 'htdemucs.optimized.ort.onnx');
  let file = weightsPath;
  let options: typeof base = base;
  if (variant === 'save-optimized') options = { ...base, optimizedModelFilePath: optimized };
  else if (variant === 'load-optimized') {
    file = optimized;
    options = { ...base, graphOptimizationLevel: 'disabled' };
  } else if (variant === 'extended') options = { ...base, graphOptimizationLevel: 'extended' };
  else if (variant === 'no-arena') options = { ...base, enableCpuMemArena: false };
  else if (variant === 'daz') options = { ...base, extra: { session: { set_denormal_as_zero: '1' } } };
  else if (variant !== 'base' && variant !== 'reversed') throw new Error(`unknown variant ${variant}`);
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(file, options);
  const loadMs = performance.now() - t0;
  const [l, r] = await readStereo(clip);
  const seg = manifest.segment;
  const stride = Math.floor((1 - manifest.overlap) * seg);
  const spec = new SpecTransform(manifest.stft.nFft, manifest.stft.hop, seg);
  const perRun: number[] = [];
  const outs: Float32Array[] = [];
  // `reversed`: the same three segments, last first (is the first run slow, or the first segment?)
  for (const k of variant === 'reversed' ? [2, 1, 0] : [0, 1, 2]) {
    const o = k * stride;
    const mix = new Float32Array(2 * seg);
    mix.set(l.subarray(o, o + seg), 0);
    mix.set(r.subarray(o, o + seg), seg);
    const s = new Float32Array(4 * spec.bins * spec.frames);
    spec.forward(mix, s);
    const feeds = {
      [manifest.io.inputs.mix]: new ort.Tensor('float32', mix, [1, 2, seg]),
      [manifest.io.inputs.spec]: new ort.Tensor('float32', s, [1, 4, spec.bins, spec.frames]),
    };
    const t = performance.now();
    const out = await session.run(feeds);
    perRun.push(performance.now() - t);
    if (k === 0 && variant !== 'reversed') outs.push(out[manifest.io.outputs.time].data as Float32Array, out[manifest.io.outputs.spec].data as Float32Array);
  }
  // The first segment's outputs, kept for the comparison with the shipped options.
  writeFileSync(path.join(cacheDir, `out-${variant}.f32`), Buffer.concat(outs.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
  console.log(JSON.stringify({ variant, loadMs, perRun, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
}

/** A new engine worker thread until it answers (an init for a model that does not exist: no model load). */
function workerStart(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const w = new Worker(script);
    w.once('message', (m: { type: string }) => {
      const ms = performance.now() - t0;
      void w.terminate();
      if (m.type === 'init-error' || m.type === 'ready') resolve(ms);
      else reject(new Error(`unexpected ${m.type}`));
    });
    w.once('error', reject);
    w.postMessage({ type: 'init', modelId: 'no-such-model-bench', device: 'cpu' });
  });
}

function maxAbsDiff(a: string, b: string): number {
  const x = new Float32Array(spawnSync('cat', [a], { maxBuffer: 1 << 30 }).stdout.buffer.slice(0));
  const y = new Float32Array(spawnSync('cat', [b], { maxBuffer: 1 << 30 }).stdout.buffer.slice(0));
  if (x.length !== y.length) return Infinity;
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}

async function main(): Promise<void> {
  const ri = argv.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(argv[ri + 1]) : 2;
  const vi = argv.indexOf('--variants');
  const variants = vi >= 0 ? argv[vi + 1].split(',') : ['base', 'load-optimized', 'extended'];
  const clip = argv.find((a, i) => !a.startsWith('--') && !['--rounds', '--variants'].includes(argv[i - 1])) ?? path.join(repo, '.bench', 'clip-30s.flac');
  console.log(`bench-engine-start: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  // Worker start, tsx vs the prebuilt bundle (interleaved, median of 7).
  const skipWorker = argv.includes('--no-worker');
  const built = spawnSync(process.execPath, ['scripts/build.mjs', '--cli', '--quiet'], { cwd: repo, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`could not build the bundle: ${built.stderr}`);
  const scripts = { tsx: path.join(repo, 'engine', 'worker-entry.mjs'), bundle: path.join(repo, 'dist', 'engine-worker.js') };
  const ws: Record<string, number[]> = { tsx: [], bundle: [] };
  for (let i = 0; i < (skipWorker ? 0 : 7); i++) for (const [k, s] of Object.entries(scripts)) ws[k].push(await workerStart(s));
  const med = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : NaN);
  console.log(`worker start (to first answer, median of 7): tsx ${med(ws.tsx).toFixed(0)} ms, bundle ${med(ws.bundle).toFixed(0)} ms`);

  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'demix-bench-start-'));
  const results: Record<string, { loadMs: number; perRun: number[]; maxRssMB: number }[]> = {};
  const runChild = (v: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', v, clip, cacheDir], { cwd: repo, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${v} failed: ${r.stderr.slice(-2000)}`);
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
    console.log(`  ${v.padEnd(15)} load ${(j.loadMs / 1000).toFixed(2)} s, runs ${j.perRun.map((x: number) => (x / 1000).toFixed(2)).join(' / ')} s, peak RSS ${j.maxRssMB.toFixed(0)} MB`);
    (results[v] ??= []).push(j);
  };
  try {
    if (variants.includes('load-optimized')) {
      runChild('save-optimized');
      console.log(`  (optimized graph: ${(statSync(path.join(cacheDir, 'htdemucs.optimized.ort.onnx')).size / 2 ** 20).toFixed(0)} MB)`);
    }
    for (let r = 0; r < rounds; r++) {
      console.log(`round ${r + 1} (load average ${os.loadavg()[0].toFixed(2)}):`);
      for (const v of variants) runChild(v);
    }
    console.log('\nbest of rounds (load, first run, later runs mean; output vs base):');
    for (const v of variants) {
      const xs = results[v];
      const load = Math.min(...xs.map((x) => x.loadMs));
      const first = Math.min(...xs.map((x) => x.perRun[0]));
      const later = Math.min(...xs.map((x) => (x.perRun[1] + x.perRun[2]) / 2));
      const diff = existsSync(path.join(cacheDir, `out-${v}.f32`)) ? maxAbsDiff(path.join(cacheDir, 'out-base.f32'), path.join(cacheDir, `out-${v}.f32`)) : NaN;
      console.log(`  ${v.padEnd(15)} load ${(load / 1000).toFixed(2)} s, first run ${(first / 1000).toFixed(2)} s, later ${(later / 1000).toFixed(2)} s; max |Δ| vs base ${diff.toExponential(2)}`);
    }
    console.log(`load average now ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(JSON.stringify({ workerStartMs: { tsx: med(ws.tsx), bundle: med(ws.bundle) }, results }));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (argv[0] === '--child') await child(argv[1], argv[2], argv[3]);
else await main();
