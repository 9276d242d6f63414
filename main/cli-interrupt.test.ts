/**
 * Ctrl-C / SIGTERM of `demix separate` (a child process, fake engine worker = test double):
 * the jobs stay resumable — back to queued, no partial files, `demix jobs` shows them queued —
 * and the same command run again finishes them.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from './cli.ts';
import { FAKE_WORKER, REPO_ROOT, listFiles, makeInputs, tempDir, waitFor } from '../testing/test-harness.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'demix.js');

async function jobStatuses(data: string): Promise<string[]> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d) => (text += d));
  const code = await main(['node', 'demix', 'jobs', '--json', '--data-dir', data], { out, err: new PassThrough() });
  expect(code).toBe(0);
  return (JSON.parse(text) as { jobs: { status: string }[] }).jobs.map((j) => j.status);
}

describe('demix separate interrupted', () => {
  it('SIGINT, then SIGTERM: jobs go back to queued with no partials each time; the same command finishes them', async () => {
    const root = tempDir();
    const inputs = makeInputs(root, ['one.mp3', 'two.mp3', 'three.mp3']);
    const out = path.join(root, 'out');
    const data = path.join(root, 'data');
    const args = [BIN, 'separate', ...inputs, '-o', out, '--data-dir', data];
    const slow = { ...process.env, DEMIX_WORKER_SCRIPT: FAKE_WORKER, DEMIX_FAKE_WORKER: JSON.stringify({ segments: 40, segmentMs: 100, stemSeconds: 0.02 }) };
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawn(process.execPath, args, { env: slow, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const jobDir = path.join(out, 'htdemucs', 'one');
      await waitFor(() => fs.existsSync(jobDir) && fs.readdirSync(jobDir).some((f) => f.endsWith('.partial')), 30_000, 'partial files');
      child.kill(signal);
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code, stderr).toBe(130);
      expect(stderr).toMatch(/interrupted; .*leaving these jobs queued: run the same command again/);
      expect(stdout).toMatch(/0 done, 0 failed, 0 skipped, 3 left queued/);
      expect(listFiles(out).filter((f) => f.includes('.partial'))).toEqual([]);
      expect(await jobStatuses(data)).toEqual(['queued', 'queued', 'queued']);
    }
    const env = { ...slow, DEMIX_FAKE_WORKER: JSON.stringify({ segments: 2, segmentMs: 5, stemSeconds: 0.02 }) };
    const again = spawnSync(process.execPath, args, { env, encoding: 'utf8', timeout: 60_000 });
    expect(again.status, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/3 done, 0 failed, 0 skipped/);
    const files = listFiles(out);
    expect(files).toHaveLength(12);
    expect(files.filter((f) => f.includes('.partial'))).toEqual([]);
    expect(await jobStatuses(data)).toEqual(['done', 'done', 'done']);
  }, 120_000);
});
