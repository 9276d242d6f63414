import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Batch as BatchSchema, Job as JobSchema, type Batch, type EventPayload, type Job } from '../../preload/contract.ts';
import { Bus } from '../bus.ts';
import { JobStore, optionsKey, type NewJobRow } from './job-store.ts';
import { JOB_OPTIONS, tempJobDatabases } from '../../testing/temp-job-db.ts';

const options = JOB_OPTIONS;
const openDb = tempJobDatabases();

function setup() {
  const { dir, db } = openDb();
  const bus = new Bus();
  const events: EventPayload<'job-updated'>[] = [];
  bus.on('job-updated', (j) => events.push(j));
  return { dir, store: new JobStore(db, bus), events };
}

let n = 0;
function row(over: Partial<NewJobRow> = {}): NewJobRow {
  n++;
  return {
    id: `j${String(n).padStart(6, '0')}`,
    name: `song${n}.mp3`,
    inputPath: `/music/song${n}.mp3`,
    modelId: 'htdemucs',
    options: JSON.stringify(options),
    optionsKey: optionsKey(options),
    status: 'queued',
    createdAt: 1000 + n,
    outputRoot: '/out',
    outputDir: `/out/htdemucs/song${n}`,
    ...over,
  };
}

describe('job store', () => {
  it('inserts jobs that satisfy the contract schema and emits one event each', () => {
    const { store, events } = setup();
    const { jobs } = store.insert(null, [row(), row()]);
    expect(jobs).toHaveLength(2);
    for (const j of jobs) expect(JobSchema.parse(j)).toEqual(j);
    expect(events.map((e) => e.id)).toEqual(jobs.map((j) => j.id));
    expect(JobSchema.parse(store.get(jobs[0].id))).toMatchObject({ status: 'queued', progress: 0, stems: [] });
  });

  it('guards every transition by the expected state: one UPDATE, one event', () => {
    const { store, events } = setup();
    const [a] = store.insert(null, [row()]).jobs;
    events.length = 0;
    expect(store.transition(a.id, ['running'], 'done')).toBeNull(); // not running yet
    expect(events).toHaveLength(0);
    const claimed = store.claimNext();
    expect(claimed?.id).toBe(a.id);
    expect(claimed?.status).toBe('running');
    expect(store.claimNext()).toBeNull();
    expect(store.transition(a.id, ['queued'], 'running')).toBeNull(); // a second claim loses
    const done = store.complete(a.id, { stems: [{ name: 'drums', path: '/x/drums.wav', format: 'wav', durationSec: 2 }], durationSec: 2, provider: 'cpu' });
    expect(done).toMatchObject({ status: 'done', progress: 1, provider: 'cpu', stems: [{ name: 'drums' }] });
    expect(store.complete(a.id, { stems: [], durationSec: 0, provider: 'cpu' })).toBeNull(); // completing twice changes nothing
    expect(store.fail(a.id, { code: 'X', message: 'x' })).toBeNull();
    expect(events.map((e) => e.status)).toEqual(['running', 'done']);
  });

  it('saveProgress only touches running jobs', () => {
    const { store } = setup();
    const [a] = store.insert(null, [row()]).jobs;
    expect(store.saveProgress(a.id, { progress: 0.5, segmentsDone: 1, segmentsTotal: 2, etaSec: 3 })).toBe(false);
    store.claimNext();
    expect(store.saveProgress(a.id, { progress: 0.5, segmentsDone: 1, segmentsTotal: 2, etaSec: 3 })).toBe(true);
    expect(store.get(a.id)).toMatchObject({ progress: 0.5, segmentsDone: 1, segmentsTotal: 2, etaSec: 3 });
    store.transition(a.id, ['running'], 'canceled');
    expect(store.saveProgress(a.id, { progress: 0.7, segmentsDone: 2, segmentsTotal: 2, etaSec: 1 })).toBe(false);
  });

  it('claims by priority, then creation order; reorder renumbers the queue', () => {
    const { store } = setup();
    const rows = [row(), row(), row(), row()];
    store.insert(null, rows);
    const ids = rows.map((r) => r.id);
    const order = store.reorder(ids[3], ids[0]);
    expect(order.map((j) => j.id)).toEqual([ids[3], ids[0], ids[1], ids[2]]);
    expect(store.reorder(ids[0], null).map((j) => j.id)).toEqual([ids[3], ids[1], ids[2], ids[0]]);
    expect(store.claimNext()?.id).toBe(ids[3]);
    expect(() => store.reorder(ids[3], null)).toThrow(/Only queued jobs/);
    const later = row();
    store.insert(null, [later]);
    expect(store.queuedOrder().map((r) => r.id)).toEqual([ids[1], ids[2], ids[0], later.id]);
    const listed = store.list({ limit: 10, offset: 0 }).jobs.map((j) => j.id);
    expect(listed).toEqual([ids[3], ids[1], ids[2], ids[0], later.id]); // running first, then queue order
  });

  it('cache: hit only for the same content hash and output options with stems on disk', () => {
    const { store, dir } = setup();
    const stemPath = path.join(dir, 'drums.wav');
    fs.writeFileSync(stemPath, 'x');
    const [a, b] = store.insert(null, [row(), row()]).jobs;
    store.claimNext();
    store.setInputHash(a.id, 'h1');
    store.complete(a.id, { stems: [{ name: 'drums', path: stemPath, format: 'wav', durationSec: 1 }], durationSec: 1, provider: 'cpu' });
    const key = optionsKey(options);
    expect(store.findCacheHit('h1', key, b.id)?.id).toBe(a.id);
    expect(store.findCacheHit('h1', key, a.id)).toBeNull(); // never itself
    expect(store.findCacheHit('h2', key, b.id)).toBeNull(); // other content
    expect(store.findCacheHit('h1', optionsKey({ ...options, format: 'flac' }), b.id)).toBeNull(); // other options
    expect(store.findCacheHit('h1', optionsKey({ ...options, device: 'cpu' }), b.id)?.id).toBe(a.id); // device does not change output
    fs.rmSync(stemPath);
    expect(store.findCacheHit('h1', key, b.id)).toBeNull(); // stems gone
  });

  it("output folder: taken by another input, or by the same input (path or content) with other options; free for the same options", () => {
    const { store } = setup();
    const key = optionsKey(options);
    const mp3 = optionsKey({ ...options, format: 'mp3' });
    const [a] = store.insert(null, [row({ inputPath: '/up/1/song.flac', outputDir: '/out/htdemucs/song' })]).jobs;
    store.setInputHash(a.id, 'h1');
    const dir = '/out/htdemucs/song';
    expect(store.outputDirTakenBy(dir, '/up/1/song.flac', null, key)).toBeNull(); // the same job again
    expect(store.outputDirTakenBy(dir, '/up/1/song.flac', null, mp3)).toBe('options');
    expect(store.outputDirTakenBy(dir, '/up/1/song.flac')).toBeNull(); // no key given: only other inputs count
    expect(store.outputDirTakenBy(dir, '/up/2/song.flac', null, key)).toBe('input');
    // An upload of the same content (another path, same hash) is the same song.
    expect(store.outputDirTakenBy(dir, '/up/2/song.flac', 'h1', key)).toBeNull();
    expect(store.outputDirTakenBy(dir, '/up/2/song.flac', 'h1', mp3)).toBe('options');
    expect(store.outputDirTakenBy(dir, '/up/2/song.flac', 'h2', key)).toBe('input');
    expect(store.outputDirTakenBy('/out/htdemucs/other', '/up/2/song.flac', 'h1', mp3)).toBeNull();
  });

  it('keeps batch counts in step with its jobs', () => {
    const { store } = setup();
    const batch = { id: 'b1', sourceFolder: '/music', outputDir: '/out', total: 2, skipped: 0, createdAt: 1 };
    const [a, b] = store.insert(batch, [row({ batchId: 'b1' }), row({ batchId: 'b1' })]).jobs;
    store.claimNext();
    store.complete(a.id, { stems: [], durationSec: 1, provider: 'cpu' });
    store.claimNext();
    store.fail(b.id, { code: 'NOT_AUDIO', message: 'nope' });
    expect(store.batch('b1')).toMatchObject({ total: 2, done: 1, failed: 1 });
    store.delete(b.id);
    expect(store.batch('b1')).toMatchObject({ done: 1, failed: 0 });
  });

  it('a batch with a canceled job counts as finished: canceled is counted and sent with batch-updated', () => {
    const { store } = setup();
    const seen: Batch[] = [];
    (store as unknown as { bus: Bus }).bus.on('batch-updated', (b) => seen.push(b));
    store.insert({ id: 'b2', sourceFolder: '/music', outputDir: '/out', total: 3, skipped: 0, createdAt: 1 }, [row({ batchId: 'b2' }), row({ batchId: 'b2' }), row({ batchId: 'b2' })]);
    const a = store.claimNext()!;
    store.complete(a.id, { stems: [], durationSec: 1, provider: 'cpu' });
    const b = store.claimNext()!;
    store.fail(b.id, { code: 'NOT_AUDIO', message: 'nope' });
    const c = store.claimNext()!;
    store.transition(c.id, ['running'], 'canceled', { finishedAt: 2 });
    const last = seen.at(-1)!;
    expect(BatchSchema.parse(last)).toMatchObject({ total: 3, done: 1, failed: 1, canceled: 1 });
    expect(last.done + last.failed + last.canceled + last.skipped).toBe(last.total);
    expect(store.batch('b2')).toMatchObject({ canceled: 1 });
    expect(store.batches(['b2'])[0]).toMatchObject({ canceled: 1 });
    expect(store.batches().find((x) => x.id === 'b2')).toMatchObject({ canceled: 1 });
  });

  it('lists 10,000 jobs', () => {
    const { store } = setup();
    const rows = Array.from({ length: 10_000 }, () => row());
    store.insert(null, rows);
    const res = store.list({ limit: 10_000, offset: 0 });
    expect(res.total).toBe(10_000);
    expect(res.jobs).toHaveLength(10_000);
    const typed: Job = res.jobs[9_999];
    expect(typed.status).toBe('queued');
  });
});
