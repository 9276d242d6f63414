/**
 * Distributed-queue benchmark (`node --import tsx scripts/bench-redis.ts [--jobs N] [--no-engine]`;
 * scripts/bench.ts runs it too). Needs Debian's redis-server (started here on a free loopback port
 * with a temp dir).
 *
 *  - Drain N (default 200) jobs with the fake engine worker (a test double that sleeps and writes
 *    small WAVs: I/O, not CPU) through BullMQ with 1 and with 3 `demix worker` processes.
 *  - The real engine on the same 12 s clip, warm, through BullMQ (one in-process `demix worker`)
 *    versus the embedded queue; each in its own process (one model session at a time),
 *    alternated, best of two each.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCore, type Core } from '../main/core.ts';
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
  engine: { embeddedMs: number; redisMs: number; overheadPct: number } | null;
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
          env: { ...process.env, DEMIX_WORKER_SCRIPT: FAKE, DEMIX_FAKE_WORKER: JSON.stringify(fake), DEMIX_WORKER_HOST: `bench-${i}` },
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

/** One child process: load once, warm up once, then time one job (embedded queue or BullMQ). */
async function engineChild(mode: 'embedded' | 'redis', clip: string): Promise<number> {
  const root = tmp();
  const redis = mode === 'redis' ? await startRedis() : null;
  let worker: { close(force?: boolean): Promise<void> } | null = null;
  try {
    if (redis) {
      const { startRedisWorker } = await import('../main/queue/redis-worker.ts');
      const { engineWorkerPath } = await import('../engine/worker-path.ts');
      worker = await startRedisWorker({ url: redis.url, concurrency: 1, device: 'cpu', pathMap: [], workerScript: engineWorkerPath(), log: () => {} });
    }
    const core = await createCore({ dataDir: path.join(root, 'data'), host: 'cli', appVersion: 'bench', onWarning: () => {}, queueUrl: redis?.url ?? null });
    core.settings.set({ device: 'cpu' });
    const once = async (tag: string): Promise<number> => {
      const t = performance.now();
      const { jobs } = await core.jobs.addPaths([clip], { outputDir: path.join(root, tag) });
      await waitIdle(core);
      const ms = performance.now() - t;
      const j = core.jobs.get(jobs[0].id);
      if (j.status !== 'done') throw new Error(`${mode} job ${j.status}: ${j.error?.message}`);
      await core.jobs.remove(j.id, true); // no cache hit next time
      return ms;
    };
    await once('warm');
    const ms = await once('timed');
    await core.close();
    return ms;
  } finally {
    await worker?.close(true);
    await redis?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function engineFigures(rounds: number): Promise<RedisBenchResult['engine']> {
  const root = tmp();
  const clip = path.join(root, 'clip.flac');
  const fixture = path.resolve(repo, 'test', 'fixtures', 'known-answer', 'song01', 'mixture.flac');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', fixture, '-t', '12', clip]);
  const child = (mode: string): number => {
    const env = { ...process.env };
    delete env.DEMIX_FAKE_WORKER;
    delete env.DEMIX_WORKER_SCRIPT;
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--engine-child', mode, clip], { env, encoding: 'utf8' });
    return Number(/ENGINE_MS=(\d+(?:\.\d+)?)/.exec(out)?.[1]);
  };
  const e: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < rounds; i++) {
    e.push(child('embedded'));
    console.log(`  engine through the embedded queue: ${(e[i] / 1000).toFixed(2)} s`);
    r.push(child('redis'));
    console.log(`  engine through BullMQ:             ${(r[i] / 1000).toFixed(2)} s`);
  }
  fs.rmSync(root, { recursive: true, force: true });
  const embeddedMs = Math.min(...e);
  const redisMs = Math.min(...r);
  return { embeddedMs, redisMs, overheadPct: ((redisMs - embeddedMs) / embeddedMs) * 100 };
}

export async function benchRedis(opts: { jobs?: number; engine?: boolean; rounds?: number } = {}): Promise<RedisBenchResult | null> {
  const missing = redisMissing();
  if (missing) {
    console.log(`redis bench skipped: ${missing}`);
    return null;
  }
  const n = opts.jobs ?? 200;
  const fake = { segments: 10, segmentMs: 30 };
  const d1 = await drain(n, 1, fake);
  console.log(`  drain ${n} jobs, 1 worker process:  ${(d1 / 1000).toFixed(2)} s`);
  const d3 = await drain(n, 3, fake);
  console.log(`  drain ${n} jobs, 3 worker processes: ${(d3 / 1000).toFixed(2)} s (${(d1 / d3).toFixed(2)}x)`);
  const engine = opts.engine === false ? null : await engineFigures(opts.rounds ?? 2);
  return { jobs: n, fakeJobMs: fake.segments * fake.segmentMs, drain1Ms: d1, drain3Ms: d3, speedup3: d1 / d3, engine };
}

const childAt = process.argv.indexOf('--engine-child');
if (childAt > 0) {
  const ms = await engineChild(process.argv[childAt + 1] as 'embedded' | 'redis', process.argv[childAt + 2]);
  console.log(`ENGINE_MS=${ms}`);
  process.exit(0);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const jobsAt = process.argv.indexOf('--jobs');
  const res = await benchRedis({
    jobs: jobsAt > 0 ? Number(process.argv[jobsAt + 1]) : undefined,
    engine: !process.argv.includes('--no-engine'),
    rounds: process.argv.includes('--quick') ? 1 : 2,
  });
  if (res) {
    console.log(`\nBullMQ on Redis (${os.cpus().length} cores):`);
    console.log(`  drain ${res.jobs} fake jobs (${res.fakeJobMs} ms of sleep each): 1 worker ${(res.drain1Ms / 1000).toFixed(2)} s, 3 workers ${(res.drain3Ms / 1000).toFixed(2)} s → ${res.speedup3.toFixed(2)}x (target ≥ 2.7x)`);
    if (res.engine) {
      console.log(
        `  real engine, 12 s clip, warm, best of 2: embedded ${(res.engine.embeddedMs / 1000).toFixed(2)} s, BullMQ ${(res.engine.redisMs / 1000).toFixed(2)} s → overhead ${res.engine.overheadPct.toFixed(1)}% (target < 3%)`,
      );
    }
  }
  process.exit(0);
}
