/**
 * Lost, hung or doubled work (issue 9), with the fake engine worker (a test double) unless a
 * case says otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Job as JobSchema } from '../../preload/contract.ts';
import { main } from '../cli.ts';
import type { Core } from '../core.ts';
import { FAKE_WORKER, fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitFor, waitIdle } from './test-harness.ts';

const cores: Core[] = [];
async function newCore(dataDir = path.join(tempDir(), 'data'), extra = {}) {
  const c = await fakeCore(dataDir, extra);
  cores.push(c);
  return c;
}
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
});
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
