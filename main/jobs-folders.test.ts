// Output folders (issue 9: no job can write into another job's folder): the same song separated
// with other output options gets a folder of its own, named after those options. Real core
// (SQLite store + queue) with the queue's fake engine worker (a test double) for the model.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOptions } from '../preload/contract.ts';
import type { Core } from './core.ts';
import { optionsLabel } from './jobs.ts';
import { fakeCore, fakeWorkerConfig, makeInputs, tempDir, waitIdle, waitStatus } from '../testing/test-harness.ts';

let root: string;
let out: string;
let core: Core;

beforeAll(async () => {
  fakeWorkerConfig({ segments: 2, segmentMs: 5, stemSeconds: 0.05 });
  root = tempDir('demix-folders-');
  out = path.join(root, 'out');
  core = await fakeCore(path.join(root, 'data'));
});
afterAll(async () => {
  await core?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const track = (...names: string[]) => path.join(out, 'htdemucs', ...names);
const filesIn = (dir: string) => fs.readdirSync(dir).sort();

describe('output folder labels', () => {
  it('name the options that differ from the defaults, always with the format', () => {
    const o = (over: Partial<JobOptions>) => JobOptions.parse(over);
    expect(optionsLabel(o({}))).toBe('wav');
    expect(optionsLabel(o({ format: 'mp3', bits: 24 }))).toBe('mp3'); // bits do not apply to mp3
    expect(optionsLabel(o({ bits: 24 }))).toBe('wav 24-bit');
    expect(optionsLabel(o({ bits: 32 }))).toBe('wav 32-bit float');
    expect(optionsLabel(o({ format: 'flac', bits: 24 }))).toBe('flac 24-bit');
    expect(optionsLabel(o({ twoStems: 'vocals' }))).toBe('wav, vocals + no_vocals');
    expect(optionsLabel(o({ format: 'flac', clipMode: 'clamp', shifts: 2, device: 'cpu' }))).toBe('flac, clamped, 2 shifts');
    expect(optionsLabel(o({ shifts: 1 }))).toBe('wav, 1 shift');
    expect(optionsLabel(o({ twoStems: 'a/b:c' }))).toBe('wav, a_b_c + no_a_b_c'); // safe as a folder name
  });
});

describe('the same song with other options', () => {
  it('gets its own folder each time; the same options again are skipped (done) or the same job (queued)', async () => {
    const [song] = makeInputs(root, ['music/song.mp3']);
    const add = async (opts: Parameters<Core['jobs']['addPaths']>[1] = {}) => core.jobs.addPaths([song], { outputDir: out, ...opts });

    const a = await add();
    expect(a.jobs[0].outputDir).toBe(track('song'));
    const doneA = await waitStatus(core, a.jobs[0].id, 'done', 30_000);
    const bytesA = Object.fromEntries(doneA.stems.map((s) => [s.path, fs.readFileSync(s.path)]));

    // 24-bit, two stems, mp3: each its own folder, named after what differs.
    const b = await add({ bits: 24 });
    const c = await add({ twoStems: 'vocals' });
    const d = await add({ format: 'mp3' });
    const dirs = [a, b, c, d].map((r) => r.jobs[0]?.outputDir);
    expect(dirs).toEqual([track('song'), track('song [wav 24-bit]'), track('song [wav, vocals + no_vocals]'), track('song [mp3]')]);
    expect(new Set(dirs).size).toBe(4);
    await waitIdle(core);
    const [doneB, doneC, doneD] = core.jobs.getMany([b, c, d].map((r) => r.jobs[0].id));
    for (const j of [doneB, doneC, doneD]) expect(j.status).toBe('done');

    // Every job's folder holds its own stems only (the fake engine writes wav whatever the format),
    // and the first job's stems were not touched.
    expect(filesIn(track('song'))).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    expect(filesIn(track('song [wav, vocals + no_vocals]'))).toEqual(['no_vocals.wav', 'vocals.wav']);
    for (const j of [doneA, doneB, doneC, doneD]) expect(filesIn(j.outputDir!)).toEqual(j.stems.map((s) => path.basename(s.path)).sort());
    for (const j of [doneA, doneB, doneC, doneD]) for (const s of j.stems) expect(path.dirname(s.path)).toBe(j.outputDir);
    expect(core.jobs.get(doneA.id).stems).toEqual(doneA.stems);
    for (const [p, bytes] of Object.entries(bytesA)) expect(fs.readFileSync(p)).toEqual(bytes);

    // The same options again: already separated, in the folder those options got.
    for (const [opts, dir] of [
      [{}, track('song')],
      [{ bits: 24 as const }, track('song [wav 24-bit]')],
      [{ twoStems: 'vocals' }, track('song [wav, vocals + no_vocals]')],
    ] as const) {
      const again = await add(opts);
      expect(again.jobs).toEqual([]);
      expect(again.rejected).toEqual([{ path: song, reason: `Already separated with these settings: ${dir}` }]);
    }

    // Queued (not yet run): the same options again are that same job, not a second one.
    core.queue.pause();
    try {
      const e = await add({ clipMode: 'clamp' });
      expect(e.jobs[0].outputDir).toBe(track('song [wav, clamped]'));
      const e2 = await add({ clipMode: 'clamp' });
      expect(e2.jobs.map((j) => j.id)).toEqual([e.jobs[0].id]);
      // Another mp3 job with a different key but the same label (bits do not show for mp3): numbered.
      const f = await add({ format: 'mp3', bits: 24 });
      expect(f.jobs[0].outputDir).toBe(track('song [mp3 2]'));
    } finally {
      core.queue.resume();
    }
    await waitIdle(core);
  }, 60_000);

  it('another song of the same name keeps "<track> (<ext>)", and its own variants go beside that', async () => {
    core.queue.pause();
    try {
      const [one, two] = makeInputs(root, ['x/tune.mp3', 'y/tune.mp3']);
      const j1 = await core.jobs.addPaths([one], { outputDir: out });
      const j2 = await core.jobs.addPaths([two], { outputDir: out });
      const j3 = await core.jobs.addPaths([two], { outputDir: out, format: 'flac' });
      const j4 = await core.jobs.addPaths([one], { outputDir: out, format: 'flac' });
      expect([j1, j2, j3, j4].map((r) => r.jobs[0].outputDir)).toEqual([track('tune'), track('tune (mp3)'), track('tune (mp3) [flac]'), track('tune [flac]')]);
      // An excerpt keeps its span folder; with other options, labelled after the span.
      const x1 = await core.jobs.addPaths([one], { outputDir: out, excerpt: { startSec: 0, endSec: 1 } });
      const x2 = await core.jobs.addPaths([one], { outputDir: out, excerpt: { startSec: 0, endSec: 1 }, format: 'mp3' });
      expect([x1, x2].map((r) => r.jobs[0]?.outputDir)).toEqual([track('tune [0-1]'), track('tune [0-1] [mp3]')]);
    } finally {
      core.queue.resume();
    }
    await waitIdle(core);
  }, 60_000);

  it('uploads of the same content: same options share the folder (the cache answers), other options get their own', async () => {
    const [up1] = makeInputs(root, ['uploads/u1/Chorus.mp3']);
    const up2 = path.join(root, 'uploads', 'u2', 'Chorus.mp3');
    const up3 = path.join(root, 'uploads', 'u3', 'Chorus.mp3');
    fs.mkdirSync(path.dirname(up2), { recursive: true });
    fs.mkdirSync(path.dirname(up3), { recursive: true });
    fs.copyFileSync(up1, up2);
    fs.copyFileSync(up1, up3);
    const a = (await core.jobs.addPaths([up1], { outputDir: out, uploaded: true })).jobs[0];
    const doneA = await waitStatus(core, a.id, 'done', 30_000);
    const b = (await core.jobs.addPaths([up2], { outputDir: out, uploaded: true, twoStems: 'drums' })).jobs[0];
    const c = (await core.jobs.addPaths([up3], { outputDir: out, uploaded: true })).jobs[0];
    expect([a.outputDir, b.outputDir, c.outputDir]).toEqual([track('Chorus'), track('Chorus [wav, drums + no_drums]'), track('Chorus')]);
    const doneB = await waitStatus(core, b.id, 'done', 30_000);
    const doneC = await waitStatus(core, c.id, 'done', 30_000);
    expect(doneC.provider).toBe('cache');
    expect(doneB.provider).not.toBe('cache');
    expect(filesIn(track('Chorus'))).toEqual(doneA.stems.map((s) => path.basename(s.path)).sort());
    expect(filesIn(track('Chorus [wav, drums + no_drums]'))).toEqual(['drums.wav', 'no_drums.wav']);
  }, 60_000);
});
