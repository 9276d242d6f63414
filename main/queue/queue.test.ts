/**
 * Queue mechanics with the fake engine worker (a test double): scale, cancel, retry, reorder,
 * pause/resume, worker crashes, faults, cache, and the single-runner lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { Job as JobSchema, QueueState, type Job } from '../../preload/contract.ts';
import { INSERT_CHUNK } from '../yield.ts';
import { fakeCoresClosedAfterEach } from '../../testing/fake-cores.ts';
import { fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitFor, waitIdle, waitStatus } from '../../testing/test-harness.ts';

const { cores, newCore } = fakeCoresClosedAfterEach();
beforeAll(() => fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 }));

describe('queue with the fake engine worker', () => {
  it('runs 1,000 jobs from a folder, each exactly once, into a mirrored tree', async () => {
    const root = tempDir();
    const names = Array.from({ length: 1000 }, (_, i) => `${i % 3 ? `disc${i % 3}/` : ''}track${i}.mp3`);
    makeInputs(path.join(root, 'music'), names);
    const core = await newCore();
    core.settings.set({ concurrency: 2 });
    const updates = new Map<string, Job['status'][]>();
    core.bus.on('job-updated', (j) => {
      const l = updates.get(j.id) ?? [];
      if (l[l.length - 1] !== j.status) l.push(j.status);
      updates.set(j.id, l);
    });
    const overall: number[] = [];
    core.bus.on('queue-state', (q) => {
      if (q.overallProgress !== null) overall.push(QueueState.parse(q).overallProgress!);
    });
    // The event loop keeps turning while 1,000 jobs go in: a ping re-armed with setImmediate runs
    // once per turn; inserts come in bounded transactions with turns in between (speed: npm run bench).
    const trace: string[] = [];
    const offTrace = core.bus.on('job-updated', (j) => j.status === 'queued' && trace.push('J'));
    let pinging = true;
    const ping = () => {
      trace.push('T');
      if (pinging) setImmediate(ping);
    };
    setImmediate(ping);
    const res = await core.jobs.addPaths([path.join(root, 'music')], { outputDir: path.join(root, 'out') });
    pinging = false;
    offTrace();
    expect(res.jobs).toHaveLength(1000);
    expect(res.batches).toHaveLength(1);
    let longestRun = 0;
    let run = 0;
    for (const x of trace) {
      run = x === 'J' ? run + 1 : 0;
      if (run > longestRun) longestRun = run;
    }
    expect(trace.filter((x) => x === 'J')).toHaveLength(1000);
    expect(longestRun).toBeLessThanOrEqual(INSERT_CHUNK);
    await waitIdle(core, 90_000);
    // Whole-queue progress (taskbar/dock) went up from near 0 towards 1.
    expect(overall.length).toBeGreaterThan(10);
    expect(Math.min(...overall)).toBeLessThan(0.1);
    expect(Math.max(...overall)).toBeGreaterThan(0.9);
    const { jobs, total } = core.jobs.list({ limit: 10_000, offset: 0 });
    expect(total).toBe(1000);
    expect(jobs.every((j) => j.status === 'done')).toBe(true);
    for (const j of jobs) expect(updates.get(j.id)).toEqual(['queued', 'running', 'done']);
    const files = listFiles(path.join(root, 'out'));
    expect(files).toHaveLength(4000);
    expect(files.some((f) => f.includes('.partial'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'out', 'htdemucs', 'disc1', 'track1', 'vocals.wav'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'out', 'htdemucs', 'track0', 'drums.wav'))).toBe(true);
    const b = core.jobs.list({ limit: 1, offset: 0 }).batches[0];
    expect(b).toMatchObject({ total: 1000, done: 1000, failed: 0 });
    expect(QueueState.parse(core.queue.state())).toMatchObject({ queued: 0, running: 0, overallProgress: null });
    // Adding the same folder again skips everything: already separated with these settings.
    const again = await core.jobs.addPaths([path.join(root, 'music')], { outputDir: path.join(root, 'out') });
    expect(again.jobs).toHaveLength(0);
    expect(again.rejected).toHaveLength(1000);
    expect(again.rejected[0].reason).toMatch(/^Already separated/);
  }, 120_000);

  it('the same folder given twice (or a folder inside one given) adds one batch, each file once', async () => {
    const root = tempDir();
    const core = await fakeCore(path.join(root, 'data'), { startQueue: false });
    cores.push(core);
    makeInputs(path.join(root, 'album'), ['a.mp3', 'cd2/b.mp3']);
    const album = path.join(root, 'album');
    const res = await core.jobs.addPaths([album, album, path.join(album, 'cd2')], { outputDir: path.join(root, 'out') });
    expect(res.jobs).toHaveLength(2);
    expect(res.batches).toHaveLength(1);
    expect(res.batches[0]).toMatchObject({ total: 2, sourceFolder: album });
    expect(core.jobs.list({ limit: 10, offset: 0 }).batches).toHaveLength(1);
  });

  it('cancels queued and running jobs in the middle; the rest finish; retry re-runs a canceled job', async () => {
    fakeWorkerConfig({ segments: 40, segmentMs: 10, stemSeconds: 0.01 });
    const root = tempDir();
    const inputs = makeInputs(root, ['a.mp3', 'b.mp3', 'c.mp3', 'd.mp3']);
    const core = await newCore();
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    const running = await waitStatus(core, jobs[0].id, 'running');
    await waitFor(() => core.jobs.get(running.id).progress > 0.1 && fs.readdirSync(running.outputDir!).length > 0, 10_000, 'partials');
    const canceledQueued = core.jobs.cancel(jobs[2].id);
    expect(canceledQueued.status).toBe('canceled');
    const canceledRunning = core.jobs.cancel(jobs[0].id);
    expect(canceledRunning.status).toBe('canceled');
    expect(() => core.jobs.cancel(jobs[0].id)).toThrow(/only queued or running/);
    await waitIdle(core);
    expect(core.jobs.get(jobs[1].id).status).toBe('done');
    expect(core.jobs.get(jobs[3].id).status).toBe('done');
    expect(core.jobs.get(jobs[0].id).status).toBe('canceled');
    // The canceled job's partial files are gone, and so is its (empty) folder.
    expect(listFiles(path.join(root, 'out')).filter((f) => f.includes('.partial'))).toEqual([]);
    expect(fs.existsSync(jobs[0].outputDir!)).toBe(false);
    const retried = core.jobs.retry(jobs[0].id);
    expect(retried.status).toBe('queued');
    const done = await waitStatus(core, jobs[0].id, 'done');
    expect(done.stems.map((s) => s.name)).toEqual(['drums', 'bass', 'other', 'vocals']);
    expect(() => core.jobs.retry(jobs[1].id)).toThrow(/only failed or canceled/);
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
  });

  it('pause holds the queue; reorder changes what runs next; resume continues', async () => {
    const root = tempDir();
    const inputs = makeInputs(root, ['1.mp3', '2.mp3', '3.mp3', '4.mp3']);
    const core = await newCore();
    expect(core.queue.pause().paused).toBe(true);
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    await new Promise((r) => setTimeout(r, 300));
    expect(core.queue.state()).toMatchObject({ paused: true, queued: 4, running: 0 });
    const order = core.jobs.reorder(jobs[3].id, jobs[0].id);
    expect(order.map((j) => j.id)).toEqual([jobs[3].id, jobs[0].id, jobs[1].id, jobs[2].id]);
    const startOrder: string[] = [];
    core.bus.on('job-updated', (j) => {
      if (j.status === 'running' && !startOrder.includes(j.id)) startOrder.push(j.id);
    });
    expect(core.queue.resume().paused).toBe(false);
    await waitIdle(core);
    expect(startOrder).toEqual([jobs[3].id, jobs[0].id, jobs[1].id, jobs[2].id]);
  });

  it('a worker that crashes or exits fails only its job, with the reason, and is replaced', async () => {
    const root = tempDir();
    const inputs = makeInputs(root, ['ok1.mp3', 'crash.mp3', 'ok2.mp3', 'exit.mp3', 'ok3.mp3']);
    const core = await newCore();
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    await waitIdle(core);
    const byName = Object.fromEntries(jobs.map((j) => [j.name, core.jobs.get(j.id)]));
    expect(byName['crash.mp3'].status).toBe('failed');
    expect(byName['crash.mp3'].error?.message).toMatch(/stopped unexpectedly.*fake engine crashed on purpose/);
    expect(byName['exit.mp3'].status).toBe('failed');
    expect(byName['exit.mp3'].error?.message).toMatch(/exited with code 7/);
    for (const n of ['ok1.mp3', 'ok2.mp3', 'ok3.mp3']) expect(byName[n].status).toBe('done');
    expect(listFiles(path.join(root, 'out')).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('faults: file gone while queued, output path under a file, disk full, engine failure, model init failure', async () => {
    const root = tempDir();
    const [gone, ok, enospc, bad] = makeInputs(root, ['gone.mp3', 'ok.mp3', 'enospc.mp3', 'fail.mp3']);
    const blocker = path.join(root, 'blocker');
    fs.writeFileSync(blocker, 'a regular file where a folder should be');
    const core = await newCore();
    core.queue.pause();
    const a = await core.jobs.addPaths([gone, ok, enospc, bad], { outputDir: path.join(root, 'out') });
    const b = await core.jobs.addPaths([ok], { outputDir: path.join(blocker, 'out') });
    const c = await core.jobs.addPaths([ok], { outputDir: path.join(root, 'out2'), modelId: 'broken-model' });
    fs.rmSync(gone);
    core.queue.resume();
    await waitIdle(core);
    const get = (j: Job) => core.jobs.get(j.id);
    expect(get(a.jobs[0])).toMatchObject({ status: 'failed', error: { code: 'INPUT_NOT_FOUND' } });
    expect(get(a.jobs[0]).error?.message).toContain('moved or deleted');
    expect(get(a.jobs[1]).status).toBe('done');
    expect(get(a.jobs[2])).toMatchObject({ status: 'failed', error: { code: 'DISK_FULL' } });
    expect(get(a.jobs[3])).toMatchObject({ status: 'failed', error: { code: 'DECODE_FAILED' } });
    expect(get(b.jobs[0])).toMatchObject({ status: 'failed', error: { code: 'OUTPUT_UNWRITABLE' } });
    expect(get(b.jobs[0]).error?.message).toMatch(/is a file, not a folder/);
    expect(get(c.jobs[0])).toMatchObject({ status: 'failed', error: { code: 'MODEL_MISSING' } });
    for (const j of [...a.jobs, ...b.jobs, ...c.jobs]) JobSchema.parse(get(j));
  });

  it('an output folder removed while jobs wait is created again; the jobs finish', async () => {
    const root = tempDir();
    const out = path.join(root, 'out');
    const core = await newCore();
    core.queue.pause();
    const { jobs } = await core.jobs.addPaths(makeInputs(root, ['r1.mp3', 'r2.mp3']), { outputDir: out });
    fs.mkdirSync(out, { recursive: true });
    fs.rmSync(out, { recursive: true });
    core.queue.resume();
    for (const j of jobs) expect((await waitStatus(core, j.id, ['done', 'failed'])).status).toBe('done');
    expect(listFiles(out)).toHaveLength(8);
  });

  it('cache: the same content under another name completes at once from the earlier stems', async () => {
    const root = tempDir();
    const [first] = makeInputs(root, ['first.mp3']);
    const copy = path.join(root, 'copy of first.mp3');
    fs.copyFileSync(first, copy);
    const core = await newCore();
    const one = await core.jobs.addPaths([first], { outputDir: path.join(root, 'out') });
    const done1 = await waitStatus(core, one.jobs[0].id, 'done');
    expect(done1.provider).toBe('fake-cpu');
    const two = await core.jobs.addPaths([copy], { outputDir: path.join(root, 'out') });
    const done2 = await waitStatus(core, two.jobs[0].id, 'done');
    expect(done2.provider).toBe('cache');
    expect(done2.stems).toHaveLength(4);
    for (const s of done2.stems) {
      expect(s.path.startsWith(done2.outputDir! + path.sep)).toBe(true);
      expect(fs.readFileSync(s.path)).toEqual(fs.readFileSync(done1.stems.find((x) => x.name === s.name)!.path));
    }
    // Other options: a miss, separated again.
    const three = await core.jobs.addPaths([copy], { outputDir: path.join(root, 'out'), twoStems: 'vocals' });
    const done3 = await waitStatus(core, three.jobs[0].id, 'done');
    expect(done3.provider).toBe('fake-cpu');
    expect(done3.stems.map((s) => s.name)).toEqual(['vocals', 'no_vocals']);
  });

  it('persists progress at most about once a second, but emits every progress event', async () => {
    fakeWorkerConfig({ segments: 30, segmentMs: 50, stemSeconds: 0.01 });
    const root = tempDir();
    const dataDir = path.join(tempDir(), 'data');
    const core = await newCore(dataDir);
    const { jobs } = await core.jobs.addPaths(makeInputs(root, ['p.mp3']), { outputDir: path.join(root, 'out') });
    let progressEvents = 0;
    core.bus.on('job-updated', (j) => {
      if (j.status === 'running' && j.progress > 0) progressEvents++;
    });
    // Watch the persisted value through a second connection, as another process would.
    const reader = new Database(path.join(dataDir, 'demix.db'), { readonly: true });
    const persisted = new Set<number>();
    const started = Date.now();
    const iv = setInterval(() => {
      const r = reader.prepare('select progress from jobs where id = ?').get(jobs[0].id) as { progress: number };
      persisted.add(r.progress);
    }, 5);
    await waitStatus(core, jobs[0].id, 'done');
    clearInterval(iv);
    reader.close();
    const seconds = (Date.now() - started) / 1000;
    expect(progressEvents).toBeGreaterThanOrEqual(30);
    // Values seen on disk: 0, a few intermediate writes (about one per second), 1.
    expect(persisted.size).toBeGreaterThanOrEqual(3);
    expect(persisted.size).toBeLessThanOrEqual(Math.ceil(seconds) + 3);
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
  });

  it('two cores on one database: only one runs workers; the other sees its jobs finish', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const root = tempDir();
    const a = await newCore(dataDir);
    const b = await newCore(dataDir);
    expect(a.runner.isRunner()).toBe(true);
    expect(b.runner.isRunner()).toBe(false);
    expect(b.runner.holder()).toMatchObject({ pid: process.pid });
    const seenByB = new Map<string, string[]>();
    b.bus.on('job-updated', (j) => seenByB.set(j.id, [...(seenByB.get(j.id) ?? []), j.status]));
    const seenByA: string[] = [];
    a.bus.on('job-updated', (j) => seenByA.push(j.id));
    const { jobs } = await b.jobs.addPaths(makeInputs(root, ['x.mp3', 'y.mp3']), { outputDir: path.join(root, 'out') });
    for (const j of jobs) await waitStatus(b, j.id, 'done'); // a (the runner) picks them up from the database
    // b's subscribers (e.g. a second window or the bridge) hear about the work a did.
    await waitFor(() => jobs.every((j) => seenByB.get(j.id)?.includes('done')), 5000, 'done events on b');
    expect(seenByA).toContain(jobs[0].id);
    expect(b.queue.state().workers).toBe(0);
    // A cancel through the non-runner stops the job on the runner's worker (partials removed).
    fakeWorkerConfig({ segments: 200, segmentMs: 20, stemSeconds: 0.01 });
    // (another device → a fresh worker on the runner, which reads the slow configuration)
    const slow = await b.jobs.addPaths(makeInputs(root, ['long.mp3']), { outputDir: path.join(root, 'out'), device: 'cpu' });
    const running = await waitStatus(b, slow.jobs[0].id, 'running');
    await waitFor(() => fs.existsSync(running.outputDir!) && fs.readdirSync(running.outputDir!).length > 0, 10_000, 'partials');
    b.jobs.cancel(running.id);
    expect(a.jobs.get(running.id).status).toBe('canceled');
    // The runner notices within its poll interval, its worker stops and removes the partials, the empty folder goes.
    await waitFor(() => !fs.existsSync(running.outputDir!), 10_000, 'the runner to stop the job and clean up');
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
    // When the runner closes, the other takes over.
    await a.close();
    await waitFor(() => b.runner.isRunner(), 10_000, 'takeover');
    const more = await b.jobs.addPaths(makeInputs(root, ['z.mp3']), { outputDir: path.join(root, 'out') });
    await waitStatus(b, more.jobs[0].id, 'done');
  });
});
