/**
 * Lost, hung or doubled work (issue 9), with the fake engine worker (a test double) unless a
 * case says otherwise.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { Job as JobSchema } from '../../preload/contract.ts';
import { main } from '../cli.ts';
import { fakeCoresClosedAfterEach } from '../../testing/fake-cores.ts';
import { FAKE_WORKER, REPO_ROOT, fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitFor, waitIdle } from '../../testing/test-harness.ts';

const { cores, newCore } = fakeCoresClosedAfterEach();
beforeEach(() => fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 }));

describe('same-named tracks', () => {
  it('a/song.flac, b/song.flac, c/song.flac: three jobs, three folders, nothing dropped; a later d/song.flac gets a fourth', async () => {
    const root = tempDir();
    const inputs = makeInputs(root, ['a/song.flac', 'b/song.flac', 'c/song.flac', 'd/song.flac']);
    const out = path.join(root, 'out');
    const core = await newCore();
    const res = await core.jobs.addPaths(inputs.slice(0, 3), { outputDir: out });
    expect(res.rejected).toEqual([]);
    expect(res.jobs).toHaveLength(3);
    const dirs = res.jobs.map((j) => j.outputDir);
    expect(new Set(dirs).size).toBe(3);
    await waitIdle(core);
    const again = await core.jobs.addPaths([inputs[3]], { outputDir: out });
    expect(again.jobs).toHaveLength(1);
    expect(dirs).not.toContain(again.jobs[0].outputDir);
    await waitIdle(core);
    const jobs = core.jobs.list({ limit: 100, offset: 0 }).jobs;
    expect(jobs.map((j) => j.status)).toEqual(['done', 'done', 'done', 'done']);
    // Each folder holds exactly one stem set, written by its own job.
    for (const j of jobs) {
      expect(fs.readdirSync(j.outputDir!).sort()).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
      for (const s of j.stems) expect(path.dirname(s.path)).toBe(j.outputDir);
    }
    expect(listFiles(out)).toHaveLength(16);
    // Running the same command again: all four are already separated (skipped with a line each), none re-run.
    const rerun = await core.jobs.addPaths(inputs, { outputDir: out });
    expect(rerun.jobs).toHaveLength(0);
    expect(rerun.rejected.map((r) => r.reason)).toEqual(Array(4).fill(expect.stringMatching(/^Already separated/)));
  });
});

describe('stopping work without killing a worker inside a model run', () => {
  const readLog = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n') : []);

  it('close(): the running job goes back to queued first, its worker stops between segments and exits cleanly, no partials stay', async () => {
    const root = tempDir();
    const log = path.join(root, 'worker.log');
    fakeWorkerConfig({ segments: 6, segmentMs: 250, stemSeconds: 0.01, blocking: true, log });
    const data = path.join(root, 'data');
    const core = await fakeCore(data);
    const [input] = makeInputs(root, ['long.mp3']);
    const { jobs } = await core.jobs.addPaths([input], { outputDir: path.join(root, 'out') });
    const id = jobs[0].id;
    await waitFor(() => core.jobs.get(id).segmentsDone >= 2, 20_000, 'two segments');
    const statuses: string[] = [];
    core.bus.on('job-updated', (j) => statuses.push(j.status));
    await core.close();
    expect(statuses[0]).toBe('queued'); // requeued before anything else
    const lines = readLog(log);
    expect(lines).toContain(`canceled ${id}`);
    expect(lines[lines.length - 1]).toBe('shutdown'); // asked to exit, and exited by itself: never terminated
    expect(lines).not.toContain(`done ${id}`);
    expect(listFiles(path.join(root, 'out')).filter((f) => f.includes('.partial'))).toEqual([]);
    // The next start runs it to the end.
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01 });
    const again = await newCore(data);
    expect(again.jobs.get(id).status).toMatch(/queued|running/);
    await waitIdle(again);
    expect(again.jobs.get(id).status).toBe('done');
  }, 40_000);

  it('cancel: a worker slow to answer is waited for (never terminated); the queue goes on with the same worker', async () => {
    const root = tempDir();
    const log = path.join(root, 'worker.log');
    fakeWorkerConfig({ segments: 4, segmentMs: 400, stemSeconds: 0.01, blocking: true, log });
    const core = await newCore(path.join(root, 'data'), { cancelGraceMs: 20 });
    const inputs = makeInputs(root, ['a.mp3', 'b.mp3']);
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    await waitFor(() => core.jobs.get(jobs[0].id).segmentsDone >= 1, 20_000, 'a segment');
    core.jobs.cancel(jobs[0].id);
    await waitIdle(core, 30_000);
    expect(core.jobs.get(jobs[0].id).status).toBe('canceled');
    expect(core.jobs.get(jobs[1].id).status).toBe('done');
    const lines = readLog(log);
    expect(lines).toContain(`canceled ${jobs[0].id}`); // it answered the cancel itself
    expect(lines.filter((l) => l.startsWith('init'))).toHaveLength(1); // the same worker ran the next job
  }, 40_000);
});

describe('removing a running job', () => {
  it('cancels it, waits for its run to stop, then removes the record and (when asked) its folder', async () => {
    const root = tempDir();
    const log = path.join(root, 'worker.log');
    fakeWorkerConfig({ segments: 6, segmentMs: 300, stemSeconds: 0.01, blocking: true, log });
    const core = await newCore();
    const inputs = makeInputs(root, ['keep.mp3', 'next.mp3']);
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: path.join(root, 'out') });
    const id = jobs[0].id;
    await waitFor(() => core.jobs.get(id).segmentsDone >= 2, 20_000, 'two segments');
    const removed: string[] = [];
    core.bus.on('job-removed', (e) => removed.push(e.id));
    await core.jobs.remove(id, true);
    // When remove() returns the worker has already stopped the job and removed what it wrote.
    expect(fs.readFileSync(log, 'utf8')).toContain(`canceled ${id}`);
    expect(removed).toEqual([id]);
    expect(fs.existsSync(jobs[0].outputDir!)).toBe(false);
    expect(() => core.jobs.get(id)).toThrow(/No job/);
    await waitIdle(core, 30_000);
    expect(core.jobs.get(jobs[1].id).status).toBe('done');
    expect(listFiles(path.join(root, 'out'))).toEqual(core.jobs.get(jobs[1].id).stems.map((s) => s.path).sort());
  }, 40_000);
});

describe('GPU fallback reason', () => {
  it('travels from the worker to the job record, its events, Diagnostics and the CLI lines', async () => {
    const reason = 'using cpu because cuda: not available in this build/machine';
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01, provider: 'cpu', fallbackReason: reason });
    const root = tempDir();
    const data = path.join(root, 'data');
    const core = await newCore(data);
    const seen: (string | null | undefined)[] = [];
    core.bus.on('job-updated', (j) => seen.push(j.fallbackReason));
    const { jobs } = await core.jobs.addPaths(makeInputs(root, ['x.mp3']), { outputDir: path.join(root, 'out') });
    await waitIdle(core);
    const done = core.jobs.get(jobs[0].id);
    expect(JobSchema.parse(done).fallbackReason).toBe(reason);
    expect(seen).toContain(reason);
    expect(core.jobs.list({ limit: 10, offset: 0 }).jobs[0].fallbackReason).toBe(reason);
    expect((await core.diagnostics('web')).providers.fallbackReasons).toEqual([reason]);
    await core.close();
    cores.splice(cores.indexOf(core), 1);

    const out = new PassThrough();
    let stdout = '';
    out.on('data', (d) => (stdout += d));
    const code = await main(['node', 'demix', 'separate', ...makeInputs(root, ['y.mp3']), '-o', path.join(root, 'out'), '--data-dir', data], { out, err: new PassThrough(), workerScript: FAKE_WORKER });
    expect(code).toBe(0);
    expect(stdout).toContain(`! execution provider: ${reason}`);
  });
});

describe('CPU sharing between workers', () => {
  it('splits intra-op threads across workers, never runs more workers than cores, and says so in Diagnostics', async () => {
    const root = tempDir();
    const log = path.join(root, 'worker.log');
    fakeWorkerConfig({ segments: 3, segmentMs: 30, stemSeconds: 0.01, log });
    const core = await newCore(path.join(root, 'data'), { cores: 8 });
    core.settings.set({ concurrency: 2 });
    let maxRunning = 0;
    core.bus.on('job-updated', () => (maxRunning = Math.max(maxRunning, core.queue.state().running)));
    await core.jobs.addPaths(makeInputs(root, ['a.mp3', 'b.mp3', 'c.mp3', 'd.mp3']), { outputDir: path.join(root, 'out') });
    await waitIdle(core);
    const inits = fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('init'));
    expect(inits.length).toBeGreaterThanOrEqual(1);
    expect(new Set(inits)).toEqual(new Set(['init 4'])); // 8 cores / 2 workers
    expect((await core.diagnostics('web')).workers).toEqual({ concurrency: 2, workers: 2, cores: 8, threadsPerWorker: 4, note: null });

    core.settings.set({ concurrency: 8 });
    const d = await core.diagnostics('web');
    expect(d.workers).toMatchObject({ concurrency: 8, workers: 8, threadsPerWorker: 1, note: null });
  }, 30_000);

  it('concurrency above the core count runs one worker per core, with the reason in Diagnostics', async () => {
    const root = tempDir();
    const log = path.join(root, 'worker.log');
    fakeWorkerConfig({ segments: 4, segmentMs: 40, stemSeconds: 0.01, log });
    const core = await newCore(path.join(root, 'data'), { cores: 2 });
    core.settings.set({ concurrency: 6 });
    let maxRunning = 0;
    core.bus.on('job-updated', () => (maxRunning = Math.max(maxRunning, core.queue.state().running)));
    await core.jobs.addPaths(makeInputs(root, ['a.mp3', 'b.mp3', 'c.mp3', 'd.mp3', 'e.mp3', 'f.mp3']), { outputDir: path.join(root, 'out') });
    await waitIdle(core);
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(new Set(fs.readFileSync(log, 'utf8').split('\n').filter((l) => l.startsWith('init')))).toEqual(new Set(['init 1']));
    const w = (await core.diagnostics('web')).workers!;
    expect(w).toMatchObject({ concurrency: 6, workers: 2, cores: 2, threadsPerWorker: 1 });
    expect(w.note).toMatch(/Concurrency 6 is more than this machine's 2 CPU cores: running 2 at a time/);
  }, 30_000);
});

describe('runner lock lost (the runner process frozen past the stale time, then woken)', () => {
  it('the new runner takes over; the old one, on waking, stops its run without writing or finishing anything', async () => {
    const root = tempDir();
    const data = path.join(root, 'data');
    const logA = path.join(root, 'a.log');
    const lockTiming = { lockHeartbeatMs: 100, lockStaleMs: 1500 };
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'testing', 'runner.test-double.ts')], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DEMIX_TEST_RUNNER: JSON.stringify({ dataDir: data, pollMs: 50, ...lockTiming }),
        DEMIX_FAKE_WORKER: JSON.stringify({ segments: 40, segmentMs: 100, stemSeconds: 0.01, log: logA }),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      // Its own process group: the freeze below stops runner A and its engine worker process
      // together, as a sleeping machine would.
      detached: true,
    });
    const signalA = (sig: NodeJS.Signals) => process.kill(-child.pid!, sig);
    try {
      let stdout = '';
      child.stdout.on('data', (d) => (stdout += d));
      await waitFor(() => stdout.includes('ready'), 60_000, 'runner A');
      expect(stdout).toContain('ready runner');
      fakeWorkerConfig({ segments: 40, segmentMs: 100, stemSeconds: 0.01 });
      const b = await newCore(data, lockTiming);
      expect(b.runner.isRunner()).toBe(false);
      const { jobs } = await b.jobs.addPaths(makeInputs(root, ['song.mp3']), { outputDir: path.join(root, 'out') });
      const id = jobs[0].id;
      await waitFor(() => b.jobs.get(id).segmentsDone >= 3, 30_000, 'runner A to be mid-job');

      signalA('SIGSTOP'); // a laptop lid closed on runner A
      await waitFor(() => b.runner.isRunner(), 20_000, 'B to take the lock');
      await waitFor(() => { const j = b.jobs.get(id); return j.status === 'running' && b.jobs.get(id).segmentsDone >= 2 && j; }, 20_000, 'B to run the job');
      signalA('SIGCONT'); // A wakes up in the middle of "its" job
      await waitFor(() => fs.readFileSync(logA, 'utf8').includes(`canceled ${id}`), 20_000, 'A to stop its run');
      // A stopped on waking, while B's run was still going (not because B had finished it).
      expect(b.jobs.get(id).status).toBe('running');
      await waitIdle(b, 30_000);
      const done = b.jobs.get(id);
      expect(done.status).toBe('done');
      expect(fs.readFileSync(logA, 'utf8')).not.toContain(`done ${id}`);
      expect(fs.readdirSync(done.outputDir!).sort()).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
      // B's run is the one on record, A wrote nothing into the job after waking.
      const db = new Database(path.join(data, 'demix.db'), { readonly: true });
      expect(db.prepare('select status, attempts, owner_id as ownerId from jobs').get()).toEqual({ status: 'done', attempts: 2, ownerId: null });
      db.close();
    } finally {
      try {
        signalA('SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 90_000);
});
