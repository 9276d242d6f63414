/**
 * Engine worker start-up and release in the pool, with the fake engine worker (a test double):
 * the worker (thread + model load in the real engine) starts while the job is prepared, not after;
 * idle workers are stopped after `idleReleaseMs` and a later job starts a fresh one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Job, JobError, JobStatus } from '../../preload/contract.ts';
import { FAKE_WORKER, fakeWorkerConfig, tempDir, waitFor } from '../../testing/test-harness.ts';
import type { CompleteResult, QueueBackend } from './backend.ts';
import { WorkerPool, type PrepareResult } from './pool.ts';

/** An in-memory queue backend: just enough state for the pool. */
function memoryBackend(jobs: Job[]): QueueBackend & { statuses: Map<string, JobStatus> } {
  const statuses = new Map<string, JobStatus>(jobs.map((j) => [j.id, 'queued']));
  return {
    statuses,
    claim() {
      const j = jobs.find((x) => statuses.get(x.id) === 'queued');
      if (!j) return null;
      statuses.set(j.id, 'running');
      return { ...j, status: 'running' };
    },
    progress: (id) => statuses.get(id) === 'running',
    complete(id: string, _r: CompleteResult) {
      statuses.set(id, 'done');
      return null;
    },
    fail(id: string, _e: JobError) {
      statuses.set(id, 'failed');
      return null;
    },
    cancel: () => null,
    status: (id) => statuses.get(id) ?? null,
    requeue: () => null,
  };
}

function job(id: string, dir: string): Job {
  fs.writeFileSync(path.join(dir, `${id}.mp3`), `fake audio ${id}`);
  return {
    id,
    name: `${id}.mp3`,
    inputPath: path.join(dir, `${id}.mp3`),
    outputDir: path.join(dir, 'out', id),
    status: 'queued',
    options: { modelId: 'htdemucs', format: 'wav', bits: 16, clipMode: 'rescale', twoStems: null, shifts: 0, device: 'auto' },
  } as unknown as Job;
}

const pools: WorkerPool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
});

const events = (log: string) => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []);

describe('engine worker start-up and idle release (fake worker)', () => {
  it('starts the worker while the job is being prepared, not after', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'worker.log');
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01, log });
    const backend = memoryBackend([job('a', dir)]);
    let initSeenDuringPrepare = false;
    const pool = new WorkerPool({
      backend,
      workerScript: FAKE_WORKER,
      size: () => 1,
      cores: () => 2,
      emitProgress: () => {},
      // A slow preparation (hashing a big file): the worker's init arrives before it ends.
      prepare: async (): Promise<PrepareResult> => {
        const deadline = Date.now() + 5000;
        while (Date.now() < deadline && !events(log).some((l) => l.startsWith('init'))) await new Promise((r) => setTimeout(r, 10));
        initSeenDuringPrepare = events(log).some((l) => l.startsWith('init'));
        return { run: true };
      },
    });
    pools.push(pool);
    pool.start(50);
    await waitFor(() => backend.statuses.get('a') === 'done', 10_000, 'job done');
    expect(initSeenDuringPrepare).toBe(true);
    expect(events(log).filter((l) => l.startsWith('init'))).toHaveLength(1);
  });

  it('stops idle workers after idleReleaseMs; the next job starts a fresh one', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'worker.log');
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01, log });
    const jobs = [job('a', dir), job('b', dir)];
    const backend = memoryBackend(jobs);
    backend.statuses.set('b', 'paused' as JobStatus); // held back until we queue it
    const pool = new WorkerPool({ backend, workerScript: FAKE_WORKER, size: () => 1, cores: () => 2, emitProgress: () => {}, prepare: async () => ({ run: true }), idleReleaseMs: 300 });
    pools.push(pool);
    pool.start(50);
    await waitFor(() => backend.statuses.get('a') === 'done', 10_000, 'job a done');
    expect(pool.workers).toBe(1);
    // Released after the idle time (the worker stops cleanly: shutdown, not terminated).
    await waitFor(() => pool.workers === 0 && events(log).includes('shutdown'), 5000, 'idle worker released');
    backend.statuses.set('b', 'queued');
    pool.pump();
    await waitFor(() => backend.statuses.get('b') === 'done', 10_000, 'job b done');
    expect(events(log).filter((l) => l.startsWith('init'))).toHaveLength(2);
  });

  it('keeps the worker while jobs keep coming (no release between them)', async () => {
    const dir = tempDir();
    const log = path.join(dir, 'worker.log');
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01, log });
    const backend = memoryBackend([job('a', dir), job('b', dir), job('c', dir)]);
    const pool = new WorkerPool({ backend, workerScript: FAKE_WORKER, size: () => 1, cores: () => 2, emitProgress: () => {}, prepare: async () => ({ run: true }), idleReleaseMs: 60_000 });
    pools.push(pool);
    pool.start(50);
    await waitFor(() => ['a', 'b', 'c'].every((id) => backend.statuses.get(id) === 'done'), 10_000, 'jobs done');
    expect(events(log).filter((l) => l.startsWith('init'))).toHaveLength(1);
    expect(pool.workers).toBe(1);
  });
});
