/**
 * `npm run bench` part: is the int8 model worth shipping? htdemucs vs htdemucs-q8 in one run,
 * alternated (the machine is shared and noisy, so only same-run ratios mean anything):
 *
 *  - 30 s clip through `demix separate` (whole process: CLI, job store, worker): wall time, peak RSS;
 *  - per-run (session.run) time and mean SDR on the three known-answer fixtures, NaN and dropouts.
 *
 * The q8 weights are built from the installed float weights first (scripts/quantize-model.ts) into
 * .bench/q8/. Ship rule (issue 14): ≥ 1.25x faster end to end, ≤ 0.3 dB mean SDR loss, no NaN or
 * dropouts. Usage: node --import tsx scripts/bench-q8.ts [--quick] [--variant conv|per-tensor|reduce-range]
 *                  node --import tsx scripts/bench-q8.ts quality <modelId>   (child: prints one JSON line)
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timedRun } from './timed-run.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(repo, '.bench');
const q8Dir = path.join(work, 'q8');
const fixtures = path.join(repo, 'test', 'fixtures', 'known-answer');
const STEMS = ['drums', 'bass', 'other', 'vocals'];
const SONGS = ['song00', 'song01', 'song02'];

async function quality(modelId: string) {
  const { Separator } = await import('../engine/separator.ts');
  const { readStereo, sdr, countNonFinite } = await import('../engine/metrics.ts');
  const sep = await Separator.create({ modelId, device: 'cpu' });
  const out = path.join(work, `quality-${modelId}`);
  const means: number[] = [];
  let nonFinite = 0;
  let worstDropout = Infinity; // smallest (stems sum / mixture) RMS ratio over audible 1024-sample windows
  for (const song of SONGS) {
    await sep.separate(path.join(fixtures, song, 'mixture.flac'), path.join(out, song), { format: 'wav', bits: 32 });
    const mix = await readStereo(path.join(fixtures, song, 'mixture.flac'));
    const est: [Float32Array, Float32Array][] = [];
    let m = 0;
    for (const s of STEMS) {
      const e = await readStereo(path.join(out, song, `${s}.wav`));
      est.push(e);
      nonFinite += countNonFinite(e[0]) + countNonFinite(e[1]);
      m += sdr(await readStereo(path.join(fixtures, song, `${s}.flac`)), e) / STEMS.length;
    }
    means.push(m);
    for (let c = 0; c < 2; c++)
      for (let o = 0; o + 1024 <= mix[c].length; o += 1024) {
        let em = 0;
        let es = 0;
        for (let t = o; t < o + 1024; t++) {
          em += mix[c][t] ** 2;
          let v = 0;
          for (const e of est) v += e[c][t];
          es += v * v;
        }
        if (em / 1024 > 1e-4) worstDropout = Math.min(worstDropout, Math.sqrt(es / em));
      }
  }
  await sep.dispose();
  console.log(JSON.stringify({ modelId, means, mean: means.reduce((a, b) => a + b) / means.length, perRunMs: sep.runMs / sep.runs, runs: sep.runs, nonFinite, worstDropout, loadMs: sep.loadMs }));
}

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) => timedRun(cmd, args, { cwd: repo, env: { DEMIX_MODELS_DIR: q8Dir, ...env }, rssFile: path.join(work, `rss-q8-${process.pid}.txt`) });

async function main() {
  const quick = process.argv.includes('--quick');
  const variant = process.argv.includes('--variant') ? process.argv[process.argv.indexOf('--variant') + 1] : null;
  const node = process.execPath;
  const tsx = ['--import', 'tsx'];
  mkdirSync(work, { recursive: true });
  // the same 30 s clip as scripts/bench.ts (the known-answer mixtures, concatenated)
  const clip = path.join(work, 'clip-30s.flac');
  if (!existsSync(clip)) {
    const { resolveFfmpeg } = await import('../engine/ffmpeg.ts');
    const list = path.join(work, 'concat-q8.txt');
    writeFileSync(list, [0, 1, 2, 3].map((i) => `file '${path.join(fixtures, SONGS[i % 3], 'mixture.flac')}'`).join('\n') + '\n');
    await run(resolveFfmpeg().path, ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', '30', clip]);
  }
  const { buildQuantized } = await import('./quantize-model.ts');
  const b = await buildQuantized(q8Dir, { conv: variant === 'conv', perChannel: variant !== 'per-tensor', reduceRange: variant === 'reduce-range' });
  console.log(`bench-q8: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}); built ${path.relative(repo, b.file)} (${(b.size / 1e6).toFixed(1)} MB, ${b.stats.matmul} MatMul + ${b.stats.gemm} Gemm + ${b.stats.conv} Conv) in ${(b.ms / 1000).toFixed(1)} s`);
  const models = ['htdemucs', 'htdemucs-q8'];
  const cli: Record<string, { wallMs: number; peakRssMB: number | null }[]> = { htdemucs: [], 'htdemucs-q8': [] };
  const qual: Record<string, { mean: number; means: number[]; perRunMs: number; nonFinite: number; worstDropout: number }[]> = { htdemucs: [], 'htdemucs-q8': [] };
  const rounds = quick ? 1 : 2;
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? models : [...models].reverse();
    for (const m of order) {
      const data = path.join(work, `q8-data-${m}-${i}`);
      rmSync(data, { recursive: true, force: true });
      const r = await run(node, ['bin/demix.js', 'separate', clip, '-o', path.join(work, 'out-q8'), '--data-dir', data, '--device', 'cpu', '--model', m]);
      cli[m].push(r);
      console.log(`round ${i + 1}: demix separate --model ${m}: ${(r.wallMs / 1000).toFixed(2)} s, peak RSS ${r.peakRssMB?.toFixed(0)} MB`);
    }
    for (const m of order) {
      const r = await run(node, [...tsx, 'scripts/bench-q8.ts', 'quality', m]);
      const j = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);
      qual[m].push(j);
      console.log(`round ${i + 1}: ${m}: mean SDR ${j.mean.toFixed(3)} dB (${j.means.map((x: number) => x.toFixed(2)).join(', ')}), ${(j.perRunMs / 1000).toFixed(2)} s per run, NaN ${j.nonFinite}, worst dropout ratio ${j.worstDropout.toFixed(2)}`);
    }
  }
  const best = (m: string) => Math.min(...cli[m].map((x) => x.wallMs));
  const rss = (m: string) => Math.max(...cli[m].map((x) => x.peakRssMB ?? 0));
  const perRun = (m: string) => Math.min(...qual[m].map((x) => x.perRunMs));
  const sdrOf = (m: string) => qual[m][0].mean;
  const speedup = best('htdemucs') / best('htdemucs-q8');
  const loss = sdrOf('htdemucs') - sdrOf('htdemucs-q8');
  const clean = qual['htdemucs-q8'].every((q) => q.nonFinite === 0 && q.worstDropout > 0.5);
  const ship = speedup >= 1.25 && loss <= 0.3 && clean;
  const lines = [
    `| model | \`demix separate\` 30 s clip | per run | peak RSS | mean SDR (song00, 01, 02) |`,
    `|---|---|---|---|---|`,
    ...models.map((m) => `| ${m} | ${(best(m) / 1000).toFixed(2)} s | ${(perRun(m) / 1000).toFixed(2)} s | ${rss(m).toFixed(0)} MB | ${sdrOf(m).toFixed(2)} dB (${qual[m][0].means.map((x) => x.toFixed(2)).join(', ')}) |`),
    '',
    `q8 vs float: ${speedup.toFixed(2)}x end to end (needs ≥ 1.25x), per run ${(perRun('htdemucs') / perRun('htdemucs-q8')).toFixed(2)}x, SDR ${loss >= 0 ? '−' : '+'}${Math.abs(loss).toFixed(2)} dB (allowed −0.30), NaN/dropouts: ${clean ? 'none' : 'YES'} → ${ship ? 'SHIP' : 'do not ship'}.`,
  ];
  console.log('\n' + lines.join('\n'));
  writeFileSync(path.join(work, 'results-q8.json'), JSON.stringify({ date: new Date().toISOString(), variant: variant ?? 'matmul per-channel 8-bit', cli, qual, speedup, loss, clean, ship }, null, 2));
}

if (process.argv[2] === 'quality') await quality(process.argv[3]);
else await main();
