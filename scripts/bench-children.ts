/**
 * Child processes of `npm run bench` (each measurement runs in a fresh process so that none pays
 * for, or profits from, another's memory state). Usage:
 *   node --import tsx scripts/bench-children.ts bare <clip>    bare session.run loop over apply_model's segments
 *   node --import tsx scripts/bench-children.ts engine <clip> <outDir>   Separator in-process
 * Prints one JSON line.
 */
import { resolveModel } from '../models/registry.ts';
import { readStereo } from '../engine/metrics.ts';
import { SpecTransform } from '../engine/dsp.ts';
import { createSession, ort } from '../engine/session.ts';
import { Separator } from '../engine/separator.ts';

const [mode, clip, outDir] = process.argv.slice(2);

if (mode === 'bare') {
  const { manifest, weightsPath } = await resolveModel('htdemucs');
  const t0 = performance.now();
  const { session, provider } = await createSession(weightsPath, 'cpu');
  const loadMs = performance.now() - t0;
  const [l, r] = await readStereo(clip);
  const seg = manifest.segment;
  const stride = Math.floor((1 - manifest.overlap) * seg);
  const spec = new SpecTransform(manifest.stft.nFft, manifest.stft.hop, seg);
  // Inputs for every segment apply_model runs (offsets 0, stride, … < length), prepared up front.
  const feeds: Record<string, ort.Tensor>[] = [];
  for (let o = 0; o < l.length; o += stride) {
    const mix = new Float32Array(2 * seg);
    mix.set(l.subarray(o, o + seg), 0);
    mix.set(r.subarray(o, o + seg), seg);
    const s = new Float32Array(4 * spec.bins * spec.frames);
    spec.forward(mix, s);
    feeds.push({
      [manifest.io.inputs.mix]: new ort.Tensor('float32', mix, [1, 2, seg]),
      [manifest.io.inputs.spec]: new ort.Tensor('float32', s, [1, 4, spec.bins, spec.frames]),
    });
  }
  const perRun: number[] = [];
  const tl = performance.now();
  for (const f of feeds) {
    const t = performance.now();
    await session.run(f);
    perRun.push(performance.now() - t);
  }
  const loopMs = performance.now() - tl;
  console.log(JSON.stringify({ mode, provider, loadMs, loopMs, runs: feeds.length, perRun, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
} else if (mode === 'engine') {
  const t0 = performance.now();
  const sep = await Separator.create({ device: 'cpu' });
  const loadMs = performance.now() - t0;
  const res = await sep.separate(clip, outDir, { format: 'wav', bits: 16 });
  const wallMs = performance.now() - t0;
  console.log(
    JSON.stringify({ mode, provider: res.provider, loadMs, wallMs, separateMs: res.timings.totalMs, runMs: res.timings.runMs, runs: res.timings.runs, durationSec: res.durationSec, analysisMs: res.analysis?.ms ?? null, bpm: res.analysis?.bpm ?? null, key: res.analysis?.key ?? null, maxRssMB: process.resourceUsage().maxRSS / 1024 }),
  );
  await sep.dispose();
} else {
  console.error('usage: bench-children.ts bare|engine <clip> [outDir]');
  process.exit(2);
}
