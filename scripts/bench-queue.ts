/**
 * Queue/store benchmark (`node --import tsx scripts/bench-queue.ts [--engine] [--json]`; the lead's
 * scripts/bench.ts may import `benchQueue`):
 *  - time to enqueue a 1,000-file folder (scan + skip checks + one transaction),
 *  - time to list 10,000 jobs (the contract's jobs:list with limit 10,000),
 *  - queue bookkeeping per job, with the fake engine worker (a test double that does almost nothing),
 *  - with --engine: the real engine on the same 12 s clip, warm, through the queue (a worker thread
 *    behind the job store) versus in-process (Separator.separate); each in its own process (one
 *    model session at a time), alternated, best of two each.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCore } from '../main/core.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FAKE = path.join(repo, 'testing', 'fake-engine-worker.test-double.mjs');

export interface QueueBenchResult {
  enqueue1000Ms: number;
  list10000Ms: number;
  queueOverheadPerJobMs: number;
  engine: { directMs: number; queueMs: number; overheadPct: number } | null;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'demix-bench-'));
}

async function waitIdle(core: Awaited<ReturnType<typeof createCore>>): Promise<void> {
  for (;;) {
    const s = core.queue.state();
    if (s.queued + s.running === 0) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function storeFigures(): Promise<Omit<QueueBenchResult, 'engine'>> {
  const root = tmp();
  const make = (dir: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const d = path.join(dir, `album${i % 20}`);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `track${i}.mp3`), `x${i}`);
    }
  };
  process.env.DEMIX_FAKE_WORKER = JSON.stringify({ segments: 1, segmentMs: 0, stemSeconds: 0.001 });
  const core = await createCore({ dataDir: path.join(root, 'data'), host: 'cli', appVersion: 'bench', workerScript: FAKE, startQueue: false, onWarning: () => {} });
  make(path.join(root, 'f0'), 1000);
  let t = performance.now();
  const r = await core.jobs.addPaths([path.join(root, 'f0')], { outputDir: path.join(root, 'out') });
  const enqueue1000Ms = performance.now() - t;
  if (r.jobs.length !== 1000) throw new Error(`expected 1000 jobs, got ${r.jobs.length}`);
  for (let f = 1; f < 10; f++) {
    make(path.join(root, `f${f}`), 1000);
    await core.jobs.addPaths([path.join(root, `f${f}`)], { outputDir: path.join(root, 'out') });
  }
  core.jobs.list({ limit: 10, offset: 0 }); // warm the statement cache
  t = performance.now();
  const listed = core.jobs.list({ limit: 10_000, offset: 0 });
  const list10000Ms = performance.now() - t;
  if (listed.jobs.length !== 10_000) throw new Error(`expected 10000 listed, got ${listed.jobs.length}`);
  await core.close();

  // Bookkeeping per job: 300 jobs through a fake worker that answers at once.
  const root2 = tmp();
  make(path.join(root2, 'in'), 300);
  const runner = await createCore({ dataDir: path.join(root2, 'data'), host: 'cli', appVersion: 'bench', workerScript: FAKE, onWarning: () => {} });
  await runner.jobs.addPaths([path.join(root2, 'in', 'album0')], { outputDir: path.join(root2, 'warm') }); // start the worker
  await waitIdle(runner);
  t = performance.now();
  const many = await runner.jobs.addPaths([path.join(root2, 'in')], { outputDir: path.join(root2, 'out') });
  await waitIdle(runner);
  const queueOverheadPerJobMs = (performance.now() - t) / many.jobs.length;
  await runner.close();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(root2, { recursive: true, force: true });
  return { enqueue1000Ms, list10000Ms, queueOverheadPerJobMs };
}

/** One child process: load once, warm up once, then time one run (direct or through the queue). */
async function engineChild(mode: 'direct' | 'queue', clip: string): Promise<number> {
  const root = tmp();
  try {
    if (mode === 'direct') {
      const { Separator } = await import('../engine/separator.ts');
      const sep = await Separator.create({ modelId: 'htdemucs', device: 'cpu' });
      await sep.separate(clip, path.join(root, 'warm'), {});
      const t = performance.now();
      await sep.separate(clip, path.join(root, 'timed'), {});
      const ms = performance.now() - t;
      await sep.dispose();
      return ms;
    }
    const core = await createCore({ dataDir: path.join(root, 'data'), host: 'cli', appVersion: 'bench', onWarning: () => {} });
    core.settings.set({ device: 'cpu' });
    const once = async (tag: string): Promise<number> => {
      const t = performance.now();
      const { jobs } = await core.jobs.addPaths([clip], { outputDir: path.join(root, tag) });
      await waitIdle(core);
      const ms = performance.now() - t;
      const j = core.jobs.get(jobs[0].id);
      if (j.status !== 'done') throw new Error(`queue job ${j.status}: ${j.error?.message}`);
      await core.jobs.remove(j.id, true); // no cache hit next time
      return ms;
    };
    await once('warm');
    const ms = await once('timed');
    await core.close();
    return ms;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The real engine on a 12 s clip, warm: in-process Separator vs through the queue (job store +
 * worker thread). Each measurement runs in its own process (one model session at a time),
 * alternated, best of two each.
 */
async function engineFigures(): Promise<QueueBenchResult['engine']> {
  const root = tmp();
  const clip = path.join(root, 'clip.flac');
  const fixture = path.resolve(repo, 'test', 'fixtures', 'known-answer', 'song01', 'mixture.flac');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', fixture, '-t', '12', clip]);
  const child = (mode: string): number => {
    const env = { ...process.env };
    delete env.DEMIX_FAKE_WORKER;
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--engine-child', mode, clip], { env, encoding: 'utf8' });
    return Number(/ENGINE_MS=(\d+(?:\.\d+)?)/.exec(out)?.[1]);
  };
  const d: number[] = [];
  const q: number[] = [];
  for (let i = 0; i < 2; i++) {
    d.push(child('direct'));
    q.push(child('queue'));
  }
  fs.rmSync(root, { recursive: true, force: true });
  const directMs = Math.min(...d);
  const queueMs = Math.min(...q);
  return { directMs, queueMs, overheadPct: ((queueMs - directMs) / directMs) * 100 };
}

export async function benchQueue(opts: { engine?: boolean } = {}): Promise<QueueBenchResult> {
  const store = await storeFigures();
  const engine = opts.engine ? await engineFigures() : null;
  return { ...store, engine };
}

const childAt = process.argv.indexOf('--engine-child');
if (childAt > 0) {
  const ms = await engineChild(process.argv[childAt + 1] as 'direct' | 'queue', process.argv[childAt + 2]);
  console.log(`ENGINE_MS=${ms}`);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const res = await benchQueue({ engine: process.argv.includes('--engine') });
  if (process.argv.includes('--json')) console.log(JSON.stringify(res, null, 2));
  else {
    console.log(`enqueue a 1,000-file folder: ${res.enqueue1000Ms.toFixed(0)} ms`);
    console.log(`list 10,000 jobs:            ${res.list10000Ms.toFixed(0)} ms`);
    console.log(`queue bookkeeping per job:   ${res.queueOverheadPerJobMs.toFixed(1)} ms (fake engine worker)`);
    if (res.engine) {
      console.log(
        `12 s clip, warm, best of 2:   in-process ${(res.engine.directMs / 1000).toFixed(2)} s, through the queue ${(res.engine.queueMs / 1000).toFixed(2)} s (overhead ${res.engine.overheadPct.toFixed(1)}%)`,
      );
    } else console.log('(run with --engine for the real-engine queue overhead)');
  }
}
