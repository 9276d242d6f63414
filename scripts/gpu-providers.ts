/**
 * On a machine with a GPU: try every execution provider this onnxruntime-node build offers here
 * (cuda, webgpu, dml, coreml — `--device webgpu` is bundled in onnxruntime-node on Linux x64; the
 * CUDA provider needs the files `npm install` fetches) on one 30 s clip, and report the speed
 * and the SDR of its stems against the CPU's. Then the self-check verdicts `auto` would reach.
 *
 *   node --import tsx scripts/gpu-providers.ts [clip] [--json out.json]
 *
 * Without a clip, the known-answer mixtures are concatenated to 30 s (needs ffmpeg).
 * For a machine with no Node.js, npm, ffmpeg or network (the lent GPU machine), scripts/gpu-carry.mjs
 * packs this script (bundled), Node, the weights and the clip, and scripts/gpu-device-run.sh runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';
import { readStereo, sdr, countNonFinite } from '../engine/metrics.ts';
import { chooseTrustedProvider, VerdictCache } from '../engine/provider-check.ts';
import { Separator } from '../engine/separator.ts';
import { availableProviders, providerOrder, ThreadRunner, type ProviderName } from '../engine/session.ts';
import { resolveModel } from '../models/registry.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'demix-gpu-'));
let clip = args.find((a) => !a.startsWith('--') && a !== jsonOut);
if (!clip) {
  clip = path.join(tmp, 'clip-30s.flac');
  const list = path.join(tmp, 'list.txt');
  const fx = path.join(repo, 'test', 'fixtures', 'known-answer');
  writeFileSync(list, [0, 1, 2, 0].map((i) => `file '${path.join(fx, `song0${i}`, 'mixture.flac')}'`).join('\n') + '\n');
  const r = spawnSync(resolveFfmpeg().path, ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', '30', clip]);
  if (r.status !== 0) throw new Error(`ffmpeg: ${r.stderr}`);
}
const STEMS = ['drums', 'bass', 'other', 'vocals'];
const providers = availableProviders();
console.log(`providers offered here: ${providers.join(', ')} (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'})`);
const order: ProviderName[] = ['cpu', ...providers.filter((p) => p !== 'cpu')];
const results: Record<string, unknown>[] = [];
let cpuStems: Record<string, [Float32Array, Float32Array]> | null = null;
let cpuWall = 0;
for (const p of order) {
  const out = path.join(tmp, p);
  mkdirSync(out, { recursive: true });
  try {
    const t0 = performance.now();
    const sep = await Separator.create({ device: p });
    const loadMs = performance.now() - t0;
    if (sep.provider !== p) throw new Error(`did not start: ${sep.fallbackReason}`);
    const t1 = performance.now();
    const res = await sep.separate(clip, out, { format: 'wav', bits: 32 });
    const wallMs = performance.now() - t1;
    await sep.dispose();
    const stems: Record<string, [Float32Array, Float32Array]> = {};
    let nonFinite = 0;
    for (const s of STEMS) {
      stems[s] = await readStereo(path.join(out, `${s}.wav`));
      nonFinite += countNonFinite(stems[s][0]) + countNonFinite(stems[s][1]);
    }
    if (p === 'cpu') {
      cpuStems = stems;
      cpuWall = wallMs;
    }
    const agree = cpuStems && p !== 'cpu' ? STEMS.map((s) => sdr(cpuStems![s], stems[s])) : null;
    const row = { provider: res.provider, loadMs, wallMs, perRunMs: res.timings.runMs / res.timings.runs, runs: res.timings.runs, realtime: res.durationSec / (wallMs / 1000), speedupVsCpu: cpuWall / wallMs, sdrVsCpuDb: agree ? Math.min(...agree) : null, nonFinite, fallbackReason: res.fallbackReason ?? null };
    results.push(row);
    console.log(`${p}: load ${(loadMs / 1000).toFixed(2)} s, separate ${(wallMs / 1000).toFixed(2)} s (${row.realtime.toFixed(2)}x realtime, ${(row.perRunMs / 1000).toFixed(3)} s per run, ${row.speedupVsCpu.toFixed(2)}x the cpu)${agree ? `, SDR vs cpu (worst stem) ${row.sdrVsCpuDb!.toFixed(1)} dB` : ''}, NaN ${nonFinite}`);
  } catch (e) {
    results.push({ provider: p, error: (e as Error).message.split('\n')[0] });
    console.log(`${p}: FAILED — ${(e as Error).message.split('\n')[0]}`);
  }
}
// What `--device auto` would decide (self-check, fresh verdicts in a temporary cache).
const gpus = providers.filter((p) => p !== 'cpu');
const autoCandidates: ProviderName[] = providerOrder('auto').filter((p) => p !== 'cpu');
let verdicts: unknown = null;
let autoUses: ProviderName = 'cpu';
if (gpus.length) {
  const { manifest, weightsPath } = await resolveModel('htdemucs');
  const names = { mix: manifest.io.inputs.mix, spec: manifest.io.inputs.spec, specOut: manifest.io.outputs.spec, timeOut: manifest.io.outputs.time };
  const r = await chooseTrustedProvider(gpus, (p) => ThreadRunner.create(weightsPath, p, names), manifest, { cache: new VerdictCache(tmp), recheck: true });
  verdicts = r.verdicts;
  for (const v of r.verdicts) console.log(`self-check ${v.provider}: ${v.trusted ? 'trusted' : `not trusted — ${v.reason}`} (SDR vs cpu ${v.sdrDb?.toFixed(1) ?? '?'} dB, ${v.providerMs?.toFixed(0) ?? '?'} ms vs cpu ${v.cpuMs?.toFixed(0)} ms per segment)`);
  // `auto` checks only its own candidates (WebGPU is tried only on request), first trusted wins.
  autoUses = r.verdicts.find((v) => v.trusted && autoCandidates.includes(v.provider))?.provider ?? 'cpu';
  const onRequest = r.verdicts.filter((v) => v.trusted && !autoCandidates.includes(v.provider)).map((v) => v.provider);
  console.log(`--device auto would use: ${autoUses} (it considers: ${autoCandidates.join(', ') || 'no GPU provider'})${onRequest.length ? `; passed the check but used only on request: ${onRequest.map((p) => `--device ${p}`).join(', ')}` : ''}`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), host: os.hostname(), results, verdicts, autoCandidates, autoUses }, null, 2));
