/**
 * Distributed-queue benchmark (`node --import tsx scripts/bench-redis.ts [--jobs N] [--no-engine]`;
 * scripts/bench.ts runs it too). Needs Debian's redis-server (started here on a free loopback port
 * with a temp dir).
 *
 *  - Drain N (default 200) jobs with the fake engine worker (a test double that sleeps and writes
 *    small WAVs: I/O, not CPU) through BullMQ with 1 and with 3 `demix worker` processes.
 *  - The real engine on the same files (the 12 s known-answer mixtures), warm, through BullMQ (a
 *    real redis-server and one `demix worker` process) versus the embedded queue, alternated pair
 *    by pair (engineFigures). Both hold a model session at once (~2 × 4-5 GB).
 *
 * Options: --jobs N, --no-drain (only the real engine), --no-engine (only the drains),
 *          --pairs N (real-engine pairs, default 6; --quick: 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job as BullJob, Queue } from 'bullmq';
import { createCore, type Core } from '../main/core.ts';
import { KEY_PREFIX, QUEUE_NAME } from '../main/queue/redis-conn.ts';
import { remoteIdFor } from '../main/queue/redis-protocol.ts';
import { redisMissing, startRedis } from '../main/queue/redis-server.test-support.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FAKE = path.join(repo, 'testing', 'fake-engine-worker.test-double.mjs');
const BIN = path.join(repo, 'bin', 'demix.js');

export interface RedisBenchResult {
  jobs: number;
  fakeJobMs: number;
  drain1Ms: number;
  drain3Ms: number;
  speedup3: number;
  engine: {
    /** Mean wall time per job of the pairs. */
    embeddedMs: number;
    redisMs: number;
    /** Median over the pairs of BullMQ / embedded − 1, in %. */
    overheadPct: number;
    /** Sum over the pairs of BullMQ / embedded − 1, in %. */
    totalOverheadPct: number;
    /** Medians of the time each queue adds around a run (wall − run), and of the runs. */
    aroundRunEmbeddedMs: number;
    aroundRunRedisMs: number;
    runMedianMs: number;
    /** What BullMQ adds around a run beyond the embedded queue, in % of a run (median). */
    addedPct: number;
    pairs: EnginePair[];
    loadavg: number[];
  } | null;
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'demix-bench-redis-'));

async function waitIdle(core: Core): Promise<void> {
  for (;;) {
    const s = core.queue.state();
    if (s.queued + s.running === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function workerProcs(url: string, n: number, fake: object): Promise<ChildProcess[]> {
  const procs = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<ChildProcess>((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--concurrency', '1'], {
          // The fake engine's segment time stays out of this machine's real segment-time cache.
          env: { ...process.env, DEMIX_WORKER_SCRIPT: FAKE, DEMIX_FAKE_WORKER: JSON.stringify(fake), DEMIX_WORKER_HOST: `bench-${i}`, DEMIX_CACHE_DIR: path.join(os.tmpdir(), 'demix-bench-redis-cache') },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let log = '';
        const on = (d: Buffer) => {
          log += d;
          if (log.includes('takes jobs from')) resolve(child);
        };
        child.stdout!.on('data', on);
        child.stderr!.on('data', on);
        child.once('exit', (code) => reject(new Error(`worker exited (${code}): ${log}`)));
      }),
    ),
  );
  return procs;
}

async function drain(n: number, workers: number, fake: { segments: number; segmentMs: number }): Promise<number> {
  const redis = await startRedis();
  const root = tmp();
  const procs = await workerProcs(redis.url, workers, { ...fake, stemSeconds: 0.01 });
  try {
    const music = path.join(root, 'music');
    fs.mkdirSync(music);
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(music, `t${i}.mp3`), `fake ${i}`);
    const core = await createCore({ dataDir: path.join(root, 'data'), host: 'cli', appVersion: 'bench', onWarning: () => {}, queueUrl: redis.url });
    const t = performance.now();
    const { jobs } = await core.jobs.addPaths([music], { outputDir: path.join(root, 'out') });
    await waitIdle(core);
    const ms = performance.now() - t;
    const bad = core.jobs.getMany(jobs.map((j) => j.id)).filter((j) => j.status !== 'done');
    await core.close();
    if (bad.length) throw new Error(`${bad.length} jobs not done: ${bad[0].error?.message}`);
    return ms;
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    await redis.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Separates one file through a core's queue. `wallMs`: from adding to done as that core sees it;
 * `runMs`: the run itself as its runner timed it (embedded: the job's start → finish in the store;
 * BullMQ: the worker's processedOn → finishedOn in Redis), so `wallMs − runMs` is the time the
 * queue adds around a run (submit, hand-over to a worker, the result back), free of the engine's noise.
 */
async function timeOne(core: Core, file: string, outDir: string, what: 'embedded' | 'redis', bull: Queue | null): Promise<{ wallMs: number; runMs: number }> {
  const t = performance.now();
  const { jobs, rejected } = await core.jobs.addPaths([file], { outputDir: outDir });
  if (!jobs.length) throw new Error(`${what}: not added: ${rejected[0]?.reason}`);
  await waitIdle(core);
  const wallMs = performance.now() - t;
  const j = core.jobs.get(jobs[0].id);
  if (j.status !== 'done') throw new Error(`${what} job ${j.status}: ${j.error?.message}`);
  if (j.provider === 'cache') throw new Error(`${what}: answered from the cache, not separated`);
  let runMs: number;
  if (bull) {
    const bj = await BullJob.fromId(bull, remoteIdFor(j.id, 1));
    if (!bj?.processedOn || !bj.finishedOn) throw new Error('BullMQ job without processedOn/finishedOn');
    runMs = bj.finishedOn - bj.processedOn;
  } else runMs = j.finishedAt! - j.startedAt!;
  await core.jobs.remove(j.id, true); // and no cache hit next time
  return { wallMs, runMs };
}

export interface EnginePair {
  file: string;
  first: 'embedded' | 'redis';
  embeddedMs: number;
  redisMs: number;
  /** The runs themselves (see timeOne). */
  embeddedRunMs: number;
  redisRunMs: number;
  load1: number;
}

/**
 * The real engine, same files, same machine, same thread settings (one job at a time, every core
 * to it): through the embedded SQLite queue (an engine worker thread in this process) and through
 * a real redis-server + one `demix worker` process (`--concurrency 1 --device cpu`). Both stay
 * warm (model loaded) for the whole run; the measurements alternate file by file, and which one
 * goes first alternates too, so drift in the machine's load hits both alike. Each pair is compared
 * on its own (the ratio of one pair ran minutes apart at most).
 */
async function engineFigures(rounds: number): Promise<RedisBenchResult['engine']> {
  const root = tmp();
  const fixtures = path.resolve(repo, 'test', 'fixtures', 'known-answer');
  const files = ['song00', 'song01', 'song02'].map((s) => {
    const to = path.join(root, 'in', `${s}.flac`);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(fixtures, s, 'mixture.flac'), to);
    return to;
  });
  const redis = await startRedis();
  const env = { ...process.env };
  delete env.DEMIX_FAKE_WORKER;
  delete env.DEMIX_WORKER_SCRIPT;
  delete env.DEMIX_QUEUE;
  let workerLog = '';
  const worker = spawn(process.execPath, [BIN, 'worker', '--queue', redis.url, '--concurrency', '1', '--device', 'cpu'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  worker.stdout!.on('data', (d) => (workerLog += d));
  worker.stderr!.on('data', (d) => (workerLog += d));
  const cores: Core[] = [];
  const bull = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port }, prefix: KEY_PREFIX });
  try {
    const t0 = Date.now();
    while (!workerLog.includes('takes jobs from')) {
      if (worker.exitCode !== null) throw new Error(`demix worker exited (${worker.exitCode}): ${workerLog}`);
      if (Date.now() - t0 > 600_000) throw new Error(`demix worker did not start: ${workerLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log(`  ${workerLog.split('\n').filter((l) => /takes jobs from|lock/.test(l)).join('\n  ')}`);
    const embedded = await createCore({ dataDir: path.join(root, 'data-embedded'), host: 'cli', appVersion: 'bench', onWarning: () => {}, queueUrl: null });
    cores.push(embedded);
    embedded.settings.set({ device: 'cpu', concurrency: 1 });
    const viaRedis = await createCore({ dataDir: path.join(root, 'data-redis'), host: 'cli', appVersion: 'bench', onWarning: () => {}, queueUrl: redis.url });
    cores.push(viaRedis);
    viaRedis.settings.set({ device: 'cpu' });
    const plan = embedded.queue.state();
    console.log(`  embedded queue: ${JSON.stringify(plan.workers ?? null)} worker(s), ${os.availableParallelism()} cores, one job at a time on each side`);
    const run = (mode: 'embedded' | 'redis', file: string, tag: string) =>
      timeOne(mode === 'embedded' ? embedded : viaRedis, file, path.join(root, `out-${mode}-${tag}`), mode, mode === 'redis' ? bull : null);
    // Warm-up: the model loads in the embedded queue's worker thread and in the worker process.
    const we = await run('embedded', files[0], 'warm');
    const wr = await run('redis', files[0], 'warm');
    console.log(`  warm-up: embedded ${(we.wallMs / 1000).toFixed(2)} s, BullMQ ${(wr.wallMs / 1000).toFixed(2)} s`);
    const pairs: EnginePair[] = [];
    for (let i = 0; i < rounds; i++) {
      const file = files[i % files.length];
      const first: EnginePair['first'] = i % 2 ? 'redis' : 'embedded';
      const order: EnginePair['first'][] = first === 'embedded' ? ['embedded', 'redis'] : ['redis', 'embedded'];
      const ms: Record<string, { wallMs: number; runMs: number }> = {};
      for (const mode of order) ms[mode] = await run(mode, file, String(i));
      const pair: EnginePair = {
        file: path.basename(file),
        first,
        embeddedMs: ms.embedded.wallMs,
        redisMs: ms.redis.wallMs,
        embeddedRunMs: ms.embedded.runMs,
        redisRunMs: ms.redis.runMs,
        load1: os.loadavg()[0],
      };
      pairs.push(pair);
      const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
      console.log(
        `  pair ${i + 1}/${rounds} ${pair.file} (${first} first): embedded ${s(pair.embeddedMs)} (around the run ${s(pair.embeddedMs - pair.embeddedRunMs)}), ` +
          `BullMQ ${s(pair.redisMs)} (around the run ${s(pair.redisMs - pair.redisRunMs)}) → ${(100 * (pair.redisMs / pair.embeddedMs - 1)).toFixed(1)}%, load ${pair.load1.toFixed(2)}`,
      );
    }
    const median = (xs: number[]) => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    const sumE = pairs.reduce((a, p) => a + p.embeddedMs, 0);
    const sumR = pairs.reduce((a, p) => a + p.redisMs, 0);
    const aroundE = median(pairs.map((p) => p.embeddedMs - p.embeddedRunMs));
    const aroundR = median(pairs.map((p) => p.redisMs - p.redisRunMs));
    const runMedian = median(pairs.flatMap((p) => [p.embeddedRunMs, p.redisRunMs]));
    return {
      embeddedMs: sumE / pairs.length,
      redisMs: sumR / pairs.length,
      overheadPct: (median(pairs.map((p) => p.redisMs / p.embeddedMs)) - 1) * 100,
      totalOverheadPct: (sumR / sumE - 1) * 100,
      aroundRunEmbeddedMs: aroundE,
      aroundRunRedisMs: aroundR,
      runMedianMs: runMedian,
      addedPct: (100 * (aroundR - aroundE)) / runMedian,
      pairs,
      loadavg: os.loadavg(),
    };
  } finally {
    await bull.close().catch(() => {});
    for (const c of cores) await c.close().catch(() => {});
    worker.kill('SIGTERM');
    await new Promise((r) => {
      if (worker.exitCode !== null) return r(null);
      worker.once('exit', r);
      setTimeout(() => worker.kill('SIGKILL'), 60_000).unref();
    });
    await redis.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

export async function benchRedis(opts: { jobs?: number; drain?: boolean; engine?: boolean; pairs?: number } = {}): Promise<RedisBenchResult | null> {
  const missing = redisMissing();
  if (missing) {
    console.log(`redis bench skipped: ${missing}`);
    return null;
  }
  const n = opts.jobs ?? 200;
  const fake = { segments: 10, segmentMs: 30 };
  let d1 = NaN;
  let d3 = NaN;
  if (opts.drain !== false) {
    d1 = await drain(n, 1, fake);
    console.log(`  drain ${n} jobs, 1 worker process:  ${(d1 / 1000).toFixed(2)} s`);
    d3 = await drain(n, 3, fake);
    console.log(`  drain ${n} jobs, 3 worker processes: ${(d3 / 1000).toFixed(2)} s (${(d1 / d3).toFixed(2)}x)`);
  }
  const engine = opts.engine === false ? null : await engineFigures(opts.pairs ?? 6);
  return { jobs: n, fakeJobMs: fake.segments * fake.segmentMs, drain1Ms: d1, drain3Ms: d3, speedup3: d1 / d3, engine };
}

/** One line: the real engine through BullMQ vs the embedded queue. */
export function engineSummary(e: NonNullable<RedisBenchResult['engine']>): string {
  return (
    `real engine, 12 s known-answer mixtures, warm, ${e.pairs.length} alternated pairs: embedded ${(e.embeddedMs / 1000).toFixed(2)} s, ` +
    `BullMQ + demix worker ${(e.redisMs / 1000).toFixed(2)} s per job (means) → overhead ${e.overheadPct.toFixed(1)}% (median of the pairs; ` +
    `${e.totalOverheadPct.toFixed(1)}% over all; target < 3%), load average ${e.loadavg.map((x) => x.toFixed(2)).join(' ')}; ` +
    `around the run (submit → worker → result back, medians): embedded ${(e.aroundRunEmbeddedMs / 1000).toFixed(2)} s, BullMQ ${(e.aroundRunRedisMs / 1000).toFixed(2)} s ` +
    `→ BullMQ adds ${((e.aroundRunRedisMs - e.aroundRunEmbeddedMs) / 1000).toFixed(2)} s = ${e.addedPct.toFixed(2)}% of a run (median run ${(e.runMedianMs / 1000).toFixed(1)} s)`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const res = await benchRedis({
    jobs: arg('--jobs'),
    drain: !process.argv.includes('--no-drain'),
    engine: !process.argv.includes('--no-engine'),
    pairs: arg('--pairs') ?? (process.argv.includes('--quick') ? 2 : 6),
  });
  if (res) {
    console.log(`\nBullMQ on Redis (${os.cpus().length} cores):`);
    if (Number.isFinite(res.speedup3)) {
      console.log(`  drain ${res.jobs} fake jobs (${res.fakeJobMs} ms of sleep each): 1 worker ${(res.drain1Ms / 1000).toFixed(2)} s, 3 workers ${(res.drain3Ms / 1000).toFixed(2)} s → ${res.speedup3.toFixed(2)}x (target ≥ 2.7x)`);
    }
    if (res.engine) console.log(`  ${engineSummary(res.engine)}`);
    const out = path.join(repo, '.bench');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'redis-results.json'), JSON.stringify({ date: new Date().toISOString(), ...res }, null, 2));
  }
  process.exit(0);
}
