/**
 * Lost, hung or doubled work (issue 9), with the fake engine worker (a test double) unless a
 * case says otherwise.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Core } from '../core.ts';
import { fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitIdle } from './test-harness.ts';

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
