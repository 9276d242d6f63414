/**
 * The Redis worker's job lock: computed from the measured segment time (pure function), and the
 * measurement itself — a `demix worker` times one segment of its model on its engine thread when
 * it starts (the fake engine worker, a test double, "runs" a segment in its configured time),
 * against a real `redis-server`, and keeps the figure per machine in its cache folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_WORKER, fakeCore, fakeWorkerConfig, makeInputs, tempDir, waitStatus } from '../../testing/test-harness.ts';
import { redisMissing, startRedis, type RedisServer } from './redis-server.test-support.ts';
import { LOCK_CEIL_MS, LOCK_FLOOR_MS, LOCK_SEGMENTS, describeLock, lockSettings, startRedisWorker } from './redis-worker.ts';

describe('lockSettings: the job lock from the measured segment time', () => {
  const env = {};
  it('a fast machine gets the floor; a slow one a multiple of its segment time; never more than the ceiling', () => {
    expect(lockSettings(4000, {}, 'measured', env)).toEqual({ lockDuration: LOCK_FLOOR_MS, stalledInterval: LOCK_FLOOR_MS / 2, maxStalledCount: 3, segmentMs: 4000, source: 'measured' });
    expect(lockSettings(12_000, {}, 'cached', env)).toEqual({ lockDuration: LOCK_SEGMENTS * 12_000, stalledInterval: (LOCK_SEGMENTS * 12_000) / 2, maxStalledCount: 3, segmentMs: 12_000, source: 'cached' });
    const huge = lockSettings(10 * 60_000, {}, 'measured', env);
    expect(huge.lockDuration).toBe(LOCK_CEIL_MS);
    expect(huge.stalledInterval).toBe(5 * 60_000);
  });

  it('no measurement: the floor, and it says so', () => {
    const l = lockSettings(null, {}, 'measured', env);
    expect(l).toMatchObject({ lockDuration: LOCK_FLOOR_MS, source: 'floor', segmentMs: null });
    expect(describeLock(l)).toMatch(/^job lock 60 s \(the floor: segment time not measured\), stalled check every 30 s, a job fails after losing its worker 4 times$/);
    expect(lockSettings(NaN, {}, 'measured', env).source).toBe('floor');
  });

  it('explicit settings win; the floor can be lowered; a killed worker\'s job always runs again at least once', () => {
    expect(lockSettings(12_000, { lockDurationMs: 5000 }, 'measured', env)).toEqual({ lockDuration: 5000, stalledInterval: 2500, maxStalledCount: 3, segmentMs: null, source: 'given' });
    expect(lockSettings(12_000, {}, 'measured', { DEMIX_REDIS_LOCK_MS: '7000', DEMIX_REDIS_STALLED_MS: '900' })).toMatchObject({ lockDuration: 7000, stalledInterval: 900, source: 'given' });
    const low = lockSettings(300, {}, 'measured', { DEMIX_REDIS_LOCK_FLOOR_MS: '1000' });
    expect(low).toMatchObject({ lockDuration: 2400, stalledInterval: 1200 });
    expect(describeLock(low)).toContain('job lock 2.4 s (8 × one segment of 0.3 s, measured, or the floor), stalled check every 1.2 s');
    expect(lockSettings(300, {}, 'measured', { DEMIX_REDIS_LOCK_FLOOR_MS: '100' }).stalledInterval).toBe(1200);
    expect(lockSettings(30, {}, 'measured', { DEMIX_REDIS_LOCK_FLOOR_MS: '100' }).stalledInterval).toBe(1000); // at least 1 s
    expect(lockSettings(5000, { maxStalledCount: 0 }, 'measured', env).maxStalledCount).toBe(1);
    expect(lockSettings(5000, {}, 'measured', { DEMIX_REDIS_MAX_STALLED: '5' }).maxStalledCount).toBe(5);
    // Nonsense in the environment is ignored, never a NaN lock.
    expect(lockSettings(5000, {}, 'measured', { DEMIX_REDIS_LOCK_MS: 'soon', DEMIX_REDIS_LOCK_FLOOR_MS: '-3' }).lockDuration).toBe(LOCK_FLOOR_MS);
  });
});

const missing = redisMissing();
describe.skipIf(!!missing)('a Redis worker times its segment when it starts (real redis-server)', () => {
  let redis: RedisServer;
  const saved = { floor: process.env.DEMIX_REDIS_LOCK_FLOOR_MS, lock: process.env.DEMIX_REDIS_LOCK_MS, stalled: process.env.DEMIX_REDIS_STALLED_MS };
  beforeAll(async () => {
    redis = await startRedis();
    process.env.DEMIX_REDIS_LOCK_FLOOR_MS = '500';
    delete process.env.DEMIX_REDIS_LOCK_MS;
    delete process.env.DEMIX_REDIS_STALLED_MS;
  }, 30_000);
  afterAll(async () => {
    await redis?.stop();
    for (const [k, v] of [
      ['DEMIX_REDIS_LOCK_FLOOR_MS', saved.floor],
      ['DEMIX_REDIS_LOCK_MS', saved.lock],
      ['DEMIX_REDIS_STALLED_MS', saved.stalled],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('measures once (the lock follows the segment time), then reuses the figure kept for this machine', async () => {
    const root = tempDir();
    const log = path.join(root, 'fake.log');
    fakeWorkerConfig({ segments: 2, segmentMs: 300, stemSeconds: 0.01, log });
    const cacheDir = path.join(root, 'cache');
    const lines: string[] = [];
    const start = () => startRedisWorker({ url: redis.url, concurrency: 1, pathMap: [], workerScript: FAKE_WORKER, log: (l) => lines.push(l), cacheDir, host: 'lock-test' });
    const w1 = await start();
    await w1.close(true);
    expect(w1.lock.source).toBe('measured');
    expect(w1.lock.segmentMs).toBeGreaterThanOrEqual(300);
    expect(w1.lock.lockDuration).toBe(Math.round(LOCK_SEGMENTS * w1.lock.segmentMs!));
    expect(w1.lock.stalledInterval).toBe(Math.round(w1.lock.lockDuration / 2));
    expect(lines.some((l) => /timing one segment of htdemucs on fake-cpu/.test(l))).toBe(true);
    const kept = JSON.parse(fs.readFileSync(path.join(cacheDir, 'worker-segment-times.json'), 'utf8'));
    expect(Object.keys(kept)).toHaveLength(1);
    expect(Object.keys(kept)[0]).toMatch(/^lock-test \| .* \| htdemucs \| fake-cpu \| \d+ threads$/);

    const w2 = await start();
    await w2.close(true);
    expect(w2.lock).toEqual({ ...w1.lock, source: 'cached' });
    // The model was loaded both times (on the thread that runs the jobs), a segment timed once.
    const events = fs.readFileSync(log, 'utf8').trim().split('\n').filter((l) => /^(init|bench)/.test(l));
    expect(events.map((e) => e.split(' ')[0])).toEqual(['init', 'bench', 'init']);
  }, 60_000);

  it("real jobs' segment times refresh the figure: the next start's lock follows them", async () => {
    const root = tempDir();
    fakeWorkerConfig({ segments: 2, segmentMs: 300, stemSeconds: 0.01, reportRunMs: true });
    const cacheDir = path.join(root, 'cache');
    const start = () => startRedisWorker({ url: redis.url, concurrency: 1, pathMap: [], workerScript: FAKE_WORKER, log: () => {}, cacheDir, host: 'lock-test-2' });
    const w1 = await start();
    expect(w1.lock.source).toBe('measured');
    // A job whose segments take 10x as long ("slow" in its name: 3 s each, reported as run time).
    const core = await fakeCore(path.join(root, 'data'), { queueUrl: redis.url });
    try {
      const [input] = makeInputs(root, ['slow.mp3']);
      const { jobs } = await core.jobs.addPaths([input], { outputDir: path.join(root, 'out') });
      expect((await waitStatus(core, jobs[0].id, ['done', 'failed'], 30_000)).status).toBe('done');
    } finally {
      await core.close();
      await w1.close(true);
    }
    const w2 = await start();
    await w2.close(true);
    expect(w2.lock).toMatchObject({ source: 'cached', segmentMs: 3000, lockDuration: LOCK_SEGMENTS * 3000 });
  }, 60_000);

  it("each run's temp files carry its own tag (a job run again elsewhere while the first run goes on never shares them)", async () => {
    const root = tempDir();
    fakeWorkerConfig({ segments: 6, segmentMs: 150, stemSeconds: 0.01 });
    const w = await startRedisWorker({ url: redis.url, concurrency: 1, pathMap: [], workerScript: FAKE_WORKER, log: () => {}, cacheDir: path.join(root, 'cache'), lockDurationMs: 60_000 });
    const core = await fakeCore(path.join(root, 'data'), { queueUrl: redis.url });
    try {
      const [input] = makeInputs(root, ['tagged.mp3']);
      const { jobs } = await core.jobs.addPaths([input], { outputDir: path.join(root, 'out') });
      const outDir = jobs[0].outputDir!;
      const partials = new Set<string>();
      const poll = setInterval(() => {
        try {
          for (const f of fs.readdirSync(outDir)) if (f.endsWith('.partial')) partials.add(f);
        } catch {
          // not created yet
        }
      }, 5);
      try {
        expect((await waitStatus(core, jobs[0].id, ['done', 'failed'], 30_000)).status).toBe('done');
      } finally {
        clearInterval(poll);
      }
      expect(partials.size).toBeGreaterThan(0);
      for (const f of partials) expect(f).toMatch(/^[a-z_]+\.wav\.[0-9a-f]{8}\.partial$/);
      expect(fs.readdirSync(outDir).sort()).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    } finally {
      await core.close();
      await w.close(true);
    }
  }, 60_000);

  it('explicit settings skip the measurement', async () => {
    const root = tempDir();
    const log = path.join(root, 'fake.log');
    fakeWorkerConfig({ segments: 2, segmentMs: 300, stemSeconds: 0.01, log });
    const w = await startRedisWorker({ url: redis.url, concurrency: 1, pathMap: [], workerScript: FAKE_WORKER, log: () => {}, cacheDir: path.join(root, 'cache'), lockDurationMs: 4000 });
    await w.close(true);
    expect(w.lock).toMatchObject({ lockDuration: 4000, stalledInterval: 2000, source: 'given' });
    expect(fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '').not.toContain('bench');
  }, 30_000);
});
