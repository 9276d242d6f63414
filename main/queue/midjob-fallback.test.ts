/**
 * A GPU provider that fails mid-job: the engine finishes on the CPU (engine/fallback-runner.ts,
 * tested with test-double providers in engine/provider-check.test.ts) and reports it in its
 * result; here the queue carries that onto the job record, its events and Diagnostics, and the
 * worker's later jobs are on the CPU too. Fake engine worker (a test double).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Core } from '../core.ts';
import { fakeCore, fakeWorkerConfig, makeInputs, tempDir, waitIdle } from '../../testing/test-harness.ts';

const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
});

describe('provider failing mid-job', () => {
  it('the job is done on the cpu, with the reason on its record, events and Diagnostics', async () => {
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.01, provider: 'cuda' });
    const root = tempDir();
    const core = await fakeCore(path.join(root, 'data'));
    cores.push(core);
    const seen: (string | null | undefined)[] = [];
    core.bus.on('job-updated', (j) => seen.push(j.fallbackReason));
    const { jobs } = await core.jobs.addPaths(makeInputs(root, ['song gpulost.mp3']), { outputDir: path.join(root, 'out') });
    await waitIdle(core);
    const done = core.jobs.get(jobs[0].id);
    expect(done.status).toBe('done');
    expect(done.provider).toBe('cpu');
    expect(done.fallbackReason).toBe('cuda failed at segment 2 (out of memory); finished on the cpu from that segment');
    expect(seen).toContain(done.fallbackReason);
    expect((await core.diagnostics('web')).providers.fallbackReasons).toContain(done.fallbackReason);
  });
});
