/**
 * Peaks (decoded once, cached), mixdown export, media paths, diagnostics, remove, settings —
 * on stems written by the fake engine worker (valid WAV sines) and decoded by the real ffmpeg.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Diagnostics, Peaks } from '../preload/contract.ts';
import type { Core } from './core.ts';
import { createHandlers, dispatch } from './handlers.ts';
import { mixdownError } from './media-service.ts';
import { REPO_ROOT, fakeCore, fakeWorkerConfig, tempDir, waitStatus } from '../testing/test-harness.ts';

const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
});
beforeAll(() => fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.5 }));

async function doneJob() {
  const root = tempDir();
  const input = path.join(root, 'tone.wav');
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ac', '2', input]);
  const core = await fakeCore(path.join(root, 'data'));
  cores.push(core);
  const { jobs } = await core.jobs.addPaths([input], { outputDir: path.join(root, 'out') });
  const job = await waitStatus(core, jobs[0].id, 'done');
  return { core, job, root, input };
}

describe('core services', () => {
  it('peaks: decoded once, cached in the database, resampled on request', async () => {
    const { core, job } = await doneJob();
    const p = Peaks.parse(await core.jobs.peaks(job.id, 'drums', 100));
    expect(p.peaks).toHaveLength(100);
    expect(p.durationSec).toBeCloseTo(0.5, 2);
    // The fake stems are sines of amplitude 8000/32768.
    for (const v of p.peaks) expect(v).toBeCloseTo(8000 / 32768, 2);
    // Served from the cache even once the file is gone (it is not decoded again).
    fs.rmSync(job.stems[0].path);
    const again = await core.jobs.peaks(job.id, 'drums', 20_000);
    expect(again.peaks).toHaveLength(20_000);
    // Finer than the cached resolution: stretched from it (each value a 16-frame block peak of the sine).
    expect(Math.max(...again.peaks)).toBeCloseTo(8000 / 32768, 2);
    const sorted = [...again.peaks].sort((a, b) => a - b);
    expect(sorted[10_000]).toBeGreaterThan(0.1);
    // The input ('mix') too.
    const mix = await core.jobs.peaks(job.id, 'mix', 50);
    expect(mix.durationSec).toBeCloseTo(1, 2);
    expect(Math.max(...mix.peaks)).toBeGreaterThan(0.05);
    await expect(core.jobs.peaks(job.id, 'nope', 50)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('mixdown: sums chosen stems with gains into the job folder and registers it for media', async () => {
    const { core, job } = await doneJob();
    const res = await core.jobs.exportMixdown({ id: job.id, stems: ['drums', 'bass'], format: 'wav', bits: 16, gains: { bass: 0.5 } });
    expect(res.name).toBe('mix-drums+bass.wav');
    expect(res.path).toBe(path.join(job.outputDir!, 'mix-drums+bass.wav'));
    expect(res.durationSec).toBeCloseTo(0.5, 2);
    expect(fs.existsSync(res.path)).toBe(true);
    expect(core.jobs.mediaPath(job.id, res.name)).toBe(res.path);
    expect(core.jobs.get(job.id).stems).toHaveLength(4); // mixdowns are not stems
    const p = await core.jobs.peaks(job.id, res.name, 10);
    const peak = Math.max(...p.peaks);
    // 0.244 (drums) + 0.122 (bass at half gain) at most; clearly more than one stem alone.
    expect(peak).toBeGreaterThan(0.25);
    expect(peak).toBeLessThan(0.37);
    await expect(core.jobs.exportMixdown({ id: job.id, stems: ['guitar'], format: 'wav', bits: 16 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(fs.readdirSync(job.outputDir!).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('mixdown at a practice tempo and pitch (issue 13): named after the change, 1/tempo as long, served by name', async () => {
    const { core, job } = await doneJob();
    const res = await core.jobs.exportMixdown({ id: job.id, stems: ['drums', 'bass'], format: 'wav', bits: 16, tempo: 80, pitch: -2 });
    expect(res.name).toBe('mix-drums+bass 80% -2st.wav');
    expect(res.path).toBe(path.join(job.outputDir!, res.name));
    expect(Math.abs(res.durationSec / (0.5 / 0.8) - 1)).toBeLessThan(0.01);
    expect(core.jobs.mediaPath(job.id, res.name)).toBe(res.path);
    // At the original tempo and pitch: the plain name and length, beside the practice file.
    const plain = await core.jobs.exportMixdown({ id: job.id, stems: ['drums', 'bass'], format: 'wav', bits: 16, tempo: 100, pitch: 0 });
    expect(plain.name).toBe('mix-drums+bass.wav');
    expect(plain.durationSec).toBeCloseTo(0.5, 2);
    expect(fs.existsSync(res.path)).toBe(true);
    expect(fs.readdirSync(job.outputDir!).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('media paths are confined to files the job owns', async () => {
    const { core, job, input } = await doneJob();
    expect(core.jobs.mediaPath(job.id, 'vocals')).toBe(path.join(job.outputDir!, 'vocals.wav'));
    expect(core.jobs.mediaPath(job.id, 'mix')).toBe(input);
    expect(core.jobs.mediaPath(job.id, '../../etc/passwd')).toBeNull();
    expect(core.jobs.mediaPath('unknown', 'vocals')).toBeNull();
  });

  it('remove keeps stems unless asked; with deleteFiles the job folder goes too', async () => {
    const { core, job } = await doneJob();
    const removed: string[] = [];
    core.bus.on('job-removed', (p) => removed.push(p.id));
    await core.jobs.remove(job.id, false);
    expect(removed).toEqual([job.id]);
    expect(fs.existsSync(job.stems[0].path)).toBe(true);
    expect(() => core.jobs.get(job.id)).toThrow(/No job/);
    const { jobs } = await core.jobs.addPaths([job.inputPath], { outputDir: path.dirname(path.dirname(job.outputDir!)) });
    const again = await waitStatus(core, jobs[0].id, 'done');
    await core.jobs.remove(again.id, true);
    expect(fs.existsSync(again.outputDir!)).toBe(false);
  });

  it('diagnostics fill the contract shape, with the providers workers reported', async () => {
    const { core } = await doneJob();
    const d = Diagnostics.parse(await core.diagnostics('web'));
    expect(d.providers.inUse).toEqual(['fake-cpu']);
    expect(d.databasePath).toBe(core.dbPath);
    expect(d.dataDir).toBe(core.dataDir);
    expect(d.ffmpeg.path).toBeTruthy();
    expect(d.models.map((m) => m.id)).toContain('htdemucs');
  });

  it('settings are validated and persisted; job options snapshot them at enqueue time', async () => {
    const { core, root } = await doneJob();
    expect(core.settings.get()).toMatchObject({ modelId: 'htdemucs', format: 'wav', concurrency: 1 });
    expect(() => core.settings.set({ concurrency: 99 } as never)).toThrow(/Invalid settings/);
    const s = core.settings.set({ format: 'flac', bits: 24, outputDir: path.join(root, 'from-settings') });
    expect(s).toMatchObject({ format: 'flac', bits: 24 });
    const other = path.join(root, 'other.wav');
    fs.copyFileSync(path.join(root, 'tone.wav'), other);
    fs.appendFileSync(other, Buffer.alloc(4)); // different content: no cache hit
    const { jobs } = await core.jobs.addPaths([other]);
    expect(jobs[0].options).toMatchObject({ format: 'flac', bits: 24 });
    expect(jobs[0].outputDir).toBe(path.join(root, 'from-settings', 'htdemucs', 'other'));
  });

  it('a mixdown on a full disk answers DISK_FULL with the actionable line (not INTERNAL)', async () => {
    const root = tempDir();
    const input = path.join(root, 'tone.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ac', '2', input]);
    // The media worker is a test double that fails every request as the real one does on ENOSPC.
    const core = await fakeCore(path.join(root, 'data'), { mediaWorkerScript: path.join(REPO_ROOT, 'testing', 'fake-media-worker.test-double.mjs') });
    cores.push(core);
    const { jobs } = await core.jobs.addPaths([input], { outputDir: path.join(root, 'out') });
    const job = await waitStatus(core, jobs[0].id, 'done');
    const handlers = createHandlers(core, { kind: 'web', appVersion: 'test' });
    const res = await dispatch(handlers, 'mixdown:export', { id: job.id, stems: ['drums', 'bass'], format: 'wav', bits: 16 });
    expect(res).toEqual({ ok: false, error: { code: 'DISK_FULL', message: 'The disk is full.' } });
    // A raw ENOSPC (e.g. from the rename) maps the same way, with the folder named.
    expect(mixdownError(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }), '/out/x')).toMatchObject({ code: 'DISK_FULL', message: expect.stringMatching(/disk is full \(\/out\/x\)/) });
    expect(mixdownError(Object.assign(new Error('EACCES'), { code: 'EACCES' }), '/out/x')).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
  });

  it('a two-stem mode the model does not have is refused up front (BAD_REQUEST naming the choices), nothing queued', async () => {
    const { core, root } = await doneJob();
    const before = core.jobs.list({ limit: 100, offset: 0 }).total;
    const err = await core.jobs.addPaths([path.join(root, 'tone.wav')], { twoStems: 'kazoo', outputDir: path.join(root, 'o2') }).catch((e) => e);
    expect(err).toMatchObject({ code: 'BAD_REQUEST' });
    expect(err.message).toMatch(/"kazoo" is not a stem of model htdemucs: use one of drums, bass, other, vocals/);
    expect(core.jobs.list({ limit: 100, offset: 0 }).total).toBe(before);
  });
});
