/**
 * The same queue behaviour suite against both queues: the embedded SQLite queue and BullMQ on a
 * real `redis-server` (started here on a free loopback port with a temp dir), each with the fake
 * engine worker (a test double). Enqueue, events, cancel, retry, reorder, pause, 1,000 jobs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../preload/contract.ts';
import type { Core } from '../core.ts';
import { FAKE_WORKER, fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitFor, waitIdle, waitStatus } from '../../testing/test-harness.ts';
import { redisMissing, startRedis, type RedisServer } from './redis-server.test-support.ts';
import { startRedisWorker, type RunningWorker } from './redis-worker.ts';

const missing = redisMissing();
if (missing) console.warn(`skipping the Redis half of the queue suite: ${missing}`);

interface Rig {
  core: Core;
  close(): Promise<void>;
}

type Kind = 'embedded' | 'redis';

let redis: RedisServer | null = null;
beforeAll(async () => {
  fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
  if (!missing) redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) await r.close();
  // Each test starts from an empty Redis.
  if (redis) {
    const { Redis } = await import('ioredis');
    const c = new Redis(redis.url);
    await c.flushall();
    c.disconnect();
  }
});

async function rig(kind: Kind, concurrency = 1): Promise<Rig> {
  const dataDir = path.join(tempDir(), 'data');
  let r: Rig;
  if (kind === 'embedded') {
    const core = await fakeCore(dataDir);
    core.settings.set({ concurrency });
    r = { core, close: () => core.close() };
  } else {
    const worker: RunningWorker = await startRedisWorker({
      url: redis!.url,
      concurrency,
      pathMap: [],
      workerScript: FAKE_WORKER,
      log: () => {},
      lockDurationMs: 5000,
    });
    const core = await fakeCore(dataDir, { queueUrl: redis!.url });
    r = {
      core,
      close: async () => {
        await core.close();
        await worker.close(true);
      },
    };
  }
  rigs.push(r);
  return r;
}

const kinds: Kind[] = missing ? ['embedded'] : ['embedded', 'redis'];

describe.each(kinds)('queue behaviour (%s)', (kind) => {
  it('runs 1,000 jobs from a folder, each exactly once (queued → running → done), one stem set each', async () => {
    const root = tempDir();
    const names = Array.from({ length: 1000 }, (_, i) => `${i % 2 ? 'disc1/' : ''}t${i}.mp3`);
    makeInputs(path.join(root, 'music'), names);
    const { core } = await rig(kind, 2);
    const updates = new Map<string, Job['status'][]>();
    core.bus.on('job-updated', (j) => {
      const l = updates.get(j.id) ?? [];
      if (l[l.length - 1] !== j.status) l.push(j.status);
      updates.set(j.id, l);
    });
    const res = await core.jobs.addPaths([path.join(root, 'music')], { outputDir: path.join(root, 'out') });
    expect(res.jobs).toHaveLength(1000);
    await waitIdle(core, 170_000);
    const { jobs, total } = core.jobs.list({ limit: 10_000, offset: 0 });
    expect(total).toBe(1000);
    expect(jobs.filter((j) => j.status !== 'done').map((j) => `${j.name}: ${j.status} ${j.error?.message ?? ''}`)).toEqual([]);
    for (const j of jobs) expect(updates.get(j.id)).toEqual(['queued', 'running', 'done']);
    const files = listFiles(path.join(root, 'out'));
    expect(files).toHaveLength(4000);
    expect(files.some((f) => f.includes('.partial'))).toBe(false);
    expect(core.jobs.list({ limit: 1, offset: 0 }).batches[0]).toMatchObject({ total: 1000, done: 1000, failed: 0 });
    if (kind === 'redis') {
      // The worker host is mirrored where the provider is.
      expect(new Set(jobs.map((j) => j.workerHost))).toEqual(new Set([(await import('node:os')).hostname()]));
      expect(new Set(jobs.map((j) => j.provider))).toEqual(new Set(['fake-cpu']));
    }
  }, 200_000);

  it('cancels queued and running jobs; the rest finish; retry re-runs a canceled job', async () => {
    // Slow enough that progress (sent every 0.5 s by a Redis worker) shows before the job ends.
    fakeWorkerConfig({ segments: 40, segmentMs: 50, stemSeconds: 0.01 });
    try {
      const root = tempDir();
      const inputs = makeInputs(root, ['a.mp3', 'b.mp3', 'c.mp3', 'd.mp3']);
      const { core } = await rig(kind);
      const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
      const running = await waitStatus(core, jobs[0].id, 'running');
      await waitFor(() => core.jobs.get(running.id).progress > 0.1, 20_000, 'progress');
      expect(core.jobs.cancel(jobs[2].id).status).toBe('canceled');
      expect(core.jobs.cancel(jobs[0].id).status).toBe('canceled');
      expect(() => core.jobs.cancel(jobs[0].id)).toThrow(/only queued or running/);
      await waitIdle(core);
      await waitStatus(core, jobs[3].id, 'done');
      expect(core.jobs.get(jobs[1].id).status).toBe('done');
      expect(core.jobs.get(jobs[0].id).status).toBe('canceled');
      expect(core.jobs.get(jobs[2].id).status).toBe('canceled');
      // The canceled running job stopped: its partial files and (empty) folder are gone.
      await waitFor(() => !fs.existsSync(jobs[0].outputDir!), 20_000, 'the canceled job folder to go');
      expect(listFiles(path.join(root, 'out')).filter((f) => f.includes('.partial'))).toEqual([]);
      expect(fs.existsSync(jobs[2].outputDir!)).toBe(false);
      expect(core.jobs.retry(jobs[0].id).status).toBe('queued');
      const done = await waitStatus(core, jobs[0].id, 'done', 60_000);
      expect(done.stems.map((s) => s.name)).toEqual(['drums', 'bass', 'other', 'vocals']);
      expect(() => core.jobs.retry(jobs[1].id)).toThrow(/only failed or canceled/);
    } finally {
      fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
    }
  }, 120_000);

  it('the same content under another name completes from the content-hash cache, without a run', async () => {
    const root = tempDir();
    const [first] = makeInputs(root, ['first.mp3']);
    const copy = path.join(root, 'copy of first.mp3');
    fs.copyFileSync(first, copy);
    const { core } = await rig(kind);
    const one = await core.jobs.addPaths([first], { outputDir: path.join(root, 'out') });
    const done1 = await waitStatus(core, one.jobs[0].id, 'done', 30_000);
    expect(done1.provider).toBe('fake-cpu');
    const two = await core.jobs.addPaths([copy], { outputDir: path.join(root, 'out') });
    const done2 = await waitStatus(core, two.jobs[0].id, 'done', 30_000);
    expect(done2.provider).toBe('cache');
    expect(done2.workerHost ?? null).toBeNull();
    expect(done2.stems.map((s) => s.name).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
    for (const s of done2.stems) {
      expect(s.path.startsWith(done2.outputDir! + path.sep)).toBe(true);
      expect(fs.readFileSync(s.path)).toEqual(fs.readFileSync(done1.stems.find((x) => x.name === s.name)!.path));
    }
    if (kind === 'redis') {
      // Nothing went to Redis for the cached job: one job there in all, the first one.
      const { Queue } = await import('bullmq');
      const { KEY_PREFIX, QUEUE_NAME } = await import('./redis-conn.ts');
      const q = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis!.port }, prefix: KEY_PREFIX });
      try {
        expect(await q.getJobCounts('completed', 'waiting', 'active', 'prioritized', 'failed')).toEqual({ completed: 1, waiting: 0, active: 0, prioritized: 0, failed: 0 });
      } finally {
        await q.close();
      }
    }
    // Other options: a miss, separated again (through the queue).
    const three = await core.jobs.addPaths([copy], { outputDir: path.join(root, 'out'), twoStems: 'vocals' });
    const done3 = await waitStatus(core, three.jobs[0].id, 'done', 30_000);
    expect(done3.provider).toBe('fake-cpu');
    expect(done3.stems.map((s) => s.name)).toEqual(['vocals', 'no_vocals']);
  }, 60_000);

  it("the engine's tempo/key and a mid-job provider fallback reach the job record", async () => {
    const analysis = { bpm: 121.5, key: 'A minor', keyConfidence: 0.8, beats: [0.5, 1, 1.5], downbeat: 0.5, tempoSource: 'drums', ms: 3 };
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01, analysis });
    try {
      const root = tempDir();
      const inputs = makeInputs(root, ['song.mp3', 'b-gpulost.mp3']);
      const { core } = await rig(kind);
      const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
      const a = await waitStatus(core, jobs[0].id, 'done', 30_000);
      expect(a).toMatchObject({ bpm: 121.5, key: 'A minor', keyConfidence: 0.8, beats: [0.5, 1, 1.5], downbeat: 0.5, provider: 'fake-cpu' });
      const b = await waitStatus(core, jobs[1].id, 'done', 30_000);
      expect(b.provider).toBe('cpu');
      expect(b.fallbackReason).toBe('fake-cpu failed at segment 2 (out of memory); finished on the cpu from that segment');
      expect(core.jobs.get(b.id).fallbackReason).toBe(b.fallbackReason);
      expect((await core.diagnostics('web')).providers.fallbackReasons).toContain(b.fallbackReason);
    } finally {
      fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
    }
  }, 60_000);

  it('pause holds the queue; reorder changes what runs next; resume continues; failures carry their reason', async () => {
    const root = tempDir();
    const inputs = makeInputs(root, ['1.mp3', '2.mp3', '3.mp3', '4.mp3', '5-fail.mp3']);
    const { core } = await rig(kind);
    expect(core.queue.pause().paused).toBe(true);
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    await new Promise((r) => setTimeout(r, 700));
    expect(core.queue.state()).toMatchObject({ paused: true, queued: 5, running: 0 });
    const order = core.jobs.reorder(jobs[3].id, jobs[0].id);
    expect(order.map((j) => j.id)).toEqual([jobs[3].id, jobs[0].id, jobs[1].id, jobs[2].id, jobs[4].id]);
    const startOrder: string[] = [];
    core.bus.on('job-updated', (j) => {
      if (j.status === 'running' && !startOrder.includes(j.id)) startOrder.push(j.id);
    });
    // Let the reorder reach the queue before resuming (Redis: commands go out in order anyway).
    await new Promise((r) => setTimeout(r, 300));
    expect(core.queue.resume().paused).toBe(false);
    await waitIdle(core, 60_000);
    expect(startOrder).toEqual([jobs[3].id, jobs[0].id, jobs[1].id, jobs[2].id, jobs[4].id]);
    const failed = core.jobs.get(jobs[4].id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ code: 'DECODE_FAILED' });
    expect(failed.error!.message).toMatch(/damaged/);
    expect(core.jobs.retry(jobs[4].id).status).toBe('queued');
    expect((await waitStatus(core, jobs[4].id, 'failed', 30_000)).error?.code).toBe('DECODE_FAILED');
  }, 120_000);
});
