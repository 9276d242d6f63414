/**
 * Crash recovery, end to end through the CLI in a child process: SIGKILL it in the middle of a
 * job, run the same command again: the job finishes, exactly one set of stems exists, no
 * partial files remain. Uses the fake engine worker (test double) so that it takes seconds.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FAKE_WORKER, REPO_ROOT, listFiles, makeInputs, tempDir, waitFor } from '../testing/test-harness.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'demix.js');

describe('crash recovery', () => {
  it('a SIGKILLed run resumes on the next start: one set of stems, no partials', async () => {
    const root = tempDir();
    const [input] = makeInputs(root, ['song.mp3']);
    const out = path.join(root, 'out');
    const data = path.join(root, 'data');
    const args = [BIN, 'separate', input, '-o', out, '--data-dir', data];
    const slow = { ...process.env, DEMIX_WORKER_SCRIPT: FAKE_WORKER, DEMIX_FAKE_WORKER: JSON.stringify({ segments: 60, segmentMs: 100, stemSeconds: 0.05 }) };

    const child = spawn(process.execPath, args, { env: slow, stdio: 'ignore' });
    const jobDir = path.join(out, 'htdemucs', 'song');
    // Wait until the engine is mid-job: partial files on disk.
    await waitFor(() => fs.existsSync(jobDir) && fs.readdirSync(jobDir).some((f) => f.endsWith('.partial')), 30_000, 'partial files');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const db = new Database(path.join(data, 'demix.db'), { readonly: true });
    expect(db.prepare('select status from jobs').all()).toEqual([{ status: 'running' }]);
    db.close();
    expect(fs.readdirSync(jobDir).some((f) => f.endsWith('.partial'))).toBe(true);

    const fast = { ...slow, DEMIX_FAKE_WORKER: JSON.stringify({ segments: 3, segmentMs: 20, stemSeconds: 0.05 }) };
    const again = spawnSync(process.execPath, args, { env: fast, encoding: 'utf8', timeout: 60_000 });
    expect(again.status, again.stderr + again.stdout).toBe(0);
    expect(again.stdout).toMatch(/1 done, 0 failed/);

    const files = listFiles(out).map((f) => path.relative(out, f));
    expect(files).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav'].map((f) => path.join('htdemucs', 'song', f)));
    const db2 = new Database(path.join(data, 'demix.db'), { readonly: true });
    expect(db2.prepare('select status, attempts from jobs').all()).toEqual([{ status: 'done', attempts: 2 }]);
    expect((db2.prepare('select count(*) as n from stems').get() as { n: number }).n).toBe(4);
    db2.close();
  }, 90_000);
});
