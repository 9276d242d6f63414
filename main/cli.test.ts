/**
 * The `demix` CLI on the core. Most cases use the fake engine worker (a test double) in-process;
 * one runs the real engine through `node bin/demix.js` on a 4 s fixture with bad inputs beside it.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from './core.ts';
import { runCli } from '../testing/cli-harness.ts';
import { FAKE_WORKER, REPO_ROOT, fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitFor } from '../testing/test-harness.ts';

const BIN = path.join(REPO_ROOT, 'bin', 'demix.js');
const FIXTURE = path.resolve(REPO_ROOT, 'test', 'fixtures', 'known-answer', 'song01', 'mixture.flac');

const run = runCli;

const cores: Core[] = [];
afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
});
beforeAll(() => fakeWorkerConfig({ segments: 3, segmentMs: 5, stemSeconds: 0.02 }));

describe('demix CLI (fake engine)', () => {
  it('--help works for the program and every command', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    for (const cmd of ['separate', 'jobs', 'retry', 'cancel', 'clean', 'doctor', 'serve']) expect(top.stdout).toContain(cmd);
    for (const cmd of ['separate', 'jobs', 'retry', 'cancel', 'clean', 'doctor', 'serve']) {
      const r = await run([cmd, '--help']);
      expect(r.code, cmd).toBe(0);
      expect(r.stdout).toContain(`Usage: demix ${cmd}`);
    }
    const sep = await run(['separate', '--help']);
    for (const flag of ['--output', '--format', '--bits', '--two-stems', '--shifts', '--device', '--model', '--data-dir']) expect(sep.stdout).toContain(flag);
  });

  it('separates good files, gives one line per bad input, exits 1, and the next run skips what is done', async () => {
    const root = tempDir();
    const [good1, good2] = makeInputs(root, ['music/one.mp3', 'music/sub/two.mp3']);
    fs.writeFileSync(path.join(root, 'empty.mp3'), '');
    fs.writeFileSync(path.join(root, 'notes.txt'), 'hello');
    fs.mkdirSync(path.join(root, 'nothing-here'));
    fs.writeFileSync(path.join(root, 'nothing-here', 'cover.jpg'), 'jpg');
    const out = path.join(root, 'out');
    const data = path.join(root, 'data');
    const args = ['separate', path.join(root, 'music'), path.join(root, 'missing.mp3'), path.join(root, 'empty.mp3'), path.join(root, 'notes.txt'), path.join(root, 'nothing-here'), '-o', out, '--data-dir', data];
    const r = await run(args);
    expect(r.code).toBe(1);
    const errLines = r.stderr.trim().split('\n');
    expect(errLines).toHaveLength(4);
    expect(errLines.find((l) => l.includes('missing.mp3'))).toMatch(/No such file or folder/);
    expect(errLines.find((l) => l.includes('empty.mp3'))).toMatch(/empty \(0 bytes\)/);
    expect(errLines.find((l) => l.includes('notes.txt'))).toMatch(/Not an audio file/);
    expect(errLines.find((l) => l.includes('nothing-here'))).toMatch(/No audio files found in this folder \(1 other file skipped\)/);
    expect(r.stdout).toMatch(/✓ one\.mp3 → .*htdemucs[/\\]one \(4 stems/);
    expect(r.stdout).toMatch(/✓ two\.mp3 → .*htdemucs[/\\]sub[/\\]two \(4 stems/);
    expect(r.stdout).toMatch(/2 done, 4 failed, 0 skipped in .* \(execution provider: fake-cpu\)/);
    expect(listFiles(out)).toHaveLength(8);
    // Each good input has its own complete stem set, mirrored from the folder tree.
    expect(listFiles(path.join(out, 'htdemucs', path.basename(good1, '.mp3'))).map((f) => path.basename(f))).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    expect(listFiles(path.join(out, 'htdemucs', 'sub', path.basename(good2, '.mp3')))).toHaveLength(4);

    const again = await run(['separate', path.join(root, 'music'), '-o', out, '--data-dir', data]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 done, 0 failed, 2 skipped/);
  });

  it('an output folder that cannot be written: one line, exit 1, nothing queued', async () => {
    const root = tempDir();
    const [song] = makeInputs(root, ['song.mp3']);
    fs.writeFileSync(path.join(root, 'a-file'), 'x');
    const data = path.join(root, 'data');
    const r = await run(['separate', song, '-o', path.join(root, 'a-file', 'out'), '--data-dir', data]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/Cannot create the output folder .*a-file.*is a file, not a folder/);
    const jobs = await run(['jobs', '--json', '--data-dir', data]);
    expect(JSON.parse(jobs.stdout).total).toBe(0);
  });

  it('flags reach the jobs; jobs/retry/cancel/clean work on the history', async () => {
    const root = tempDir();
    const [ok, bad] = makeInputs(root, ['ok.mp3', 'fail.mp3']);
    const out = path.join(root, 'out');
    const data = path.join(root, 'data');
    const r = await run(['separate', ok, bad, '-o', out, '--data-dir', data, '--format', 'flac', '--bits', '24', '--two-stems', 'vocals', '--shifts', '2', '--device', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ fail\.mp3: Could not decode/);
    const listed = JSON.parse((await run(['jobs', '--json', '--data-dir', data])).stdout);
    expect(listed.total).toBe(2);
    const okJob = listed.jobs.find((j: { name: string }) => j.name === 'ok.mp3');
    expect(okJob.options).toMatchObject({ format: 'flac', bits: 24, twoStems: 'vocals', shifts: 2, device: 'cpu' });
    expect(okJob.stems.map((s: { name: string }) => s.name)).toEqual(['vocals', 'no_vocals']);
    expect(okJob.outputDir).toBe(path.join(out, 'htdemucs', 'ok'));

    const failedOnly = await run(['jobs', '--status', 'failed', '--data-dir', data]);
    expect(failedOnly.stdout).toMatch(/failed\s+fail\.mp3/);
    expect(failedOnly.stdout).not.toMatch(/ok\.mp3/);

    const retried = await run(['retry', '--failed', '--data-dir', data]);
    expect(retried.stdout).toMatch(/Re-queued 1 job/);
    expect(retried.code).toBe(1); // it fails again (the fake engine fails "fail" files)

    const cancelDone = await run(['cancel', okJob.id, '--data-dir', data]);
    expect(cancelDone.code).toBe(1);
    expect(cancelDone.stderr).toMatch(/is done; only queued or running jobs can be canceled/);

    const unknown = await run(['cancel', 'nope', '--data-dir', data]);
    expect(unknown.stderr).toMatch(/No job with id nope/);

    const cleaned = await run(['clean', '--data-dir', data]);
    expect(cleaned.stdout).toMatch(/Removed 2 job records \(stem files kept\)/);
    expect(listFiles(out)).toHaveLength(2);
    expect((await run(['jobs', '--data-dir', data])).stdout).toMatch(/No jobs/);
  });

  it('every wrong flag or missing argument: one line naming the problem and the choices, non-zero exit, nothing created', async () => {
    const root = tempDir();
    const [song] = makeInputs(root, ['song.mp3']);
    const out = path.join(root, 'out');
    const data = path.join(root, 'data');
    const cases: [string[], RegExp][] = [
      [['separate', song, '--clip-mode', 'bogus'], /--clip-mode.*bogus.*rescale, clamp/],
      [['separate', song, '--two-stems', 'kazoo'], /--two-stems "kazoo".*use one of .*vocals/],
      [['separate', song, '--two-stems', 'kazoo', '--model', 'htdemucs'], /--two-stems "kazoo" is not a stem of model htdemucs: use one of drums, bass, other, vocals/],
      [['separate', song, '--model', 'nope'], /unknown model "nope": use one of htdemucs/],
      [['separate', song, '--format', 'ogg'], /--format.*ogg.*wav, flac, mp3/],
      [['separate', song, '--bits', '8'], /--bits.*8.*16, 24 or 32f/],
      [['separate', song, '--shifts', '-1'], /--shifts.*whole number from 0 to 20/],
      [['separate', song, '--device', 'tpu'], /--device.*tpu.*auto, cpu, cuda/],
      [['separate'], /missing required argument 'paths'/],
      [['separate', song, '--no-such-flag'], /unknown option '--no-such-flag'/],
      [['retry'], /retry needs a job id .* or --failed/],
      [['retry', 'j1', '--failed'], /a job id or --failed, not both/],
      [['cancel'], /missing required argument 'id'/],
      [['jobs', '--status', 'lost'], /--status.*lost.*queued, running/],
      [['serve', '--port', '70000'], /--port.*whole number from 0 to 65535/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['separate', song, '--excerpt', '90-60'], /--excerpt.*the end is before the start/],
      [['separate', song, '--excerpt', '1:00-1:00'], /--excerpt.*zero length/],
      [['separate', song, '--excerpt', 'middle'], /--excerpt.*START-END in seconds or m:ss/],
    ];
    for (const [args, want] of cases) {
      const r = await run([...args, '-o', out, '--data-dir', data].filter((a, i, all) => args[0] === 'separate' || (a !== '-o' && all[i - 1] !== '-o')));
      const label = args.join(' ');
      expect(r.code, label).not.toBe(0);
      expect(r.stderr.trim().split('\n'), label).toHaveLength(1);
      expect(r.stderr, label).toMatch(/^demix: /);
      expect(r.stderr, label).toMatch(want);
      expect(fs.existsSync(out), `${label}: output folder created`).toBe(false);
      expect(fs.existsSync(data), `${label}: database created`).toBe(false);
    }
  });

  it('--excerpt: its own job and folder "<track> [start-end]", with the span on the job (seconds or m:ss)', async () => {
    const root = tempDir();
    const [song] = makeInputs(root, ['song.mp3']);
    const out = path.join(root, 'out');
    const data = path.join(root, 'data');
    const r = await run(['separate', song, '--excerpt', '1:00-90.5', '-o', out, '--data-dir', data]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'htdemucs'))).toEqual(['song [60-90.5]']);
    const j = await run(['jobs', '--json', '--data-dir', data]);
    const { jobs } = JSON.parse(j.stdout) as { jobs: { excerpt: unknown; outputDir: string }[] };
    expect(jobs).toHaveLength(1);
    expect(jobs[0].excerpt).toEqual({ startSec: 60, endSec: 90.5 });
    // The whole song is another job, with its own folder (not "already separated").
    const whole = await run(['separate', song, '-o', out, '--data-dir', data]);
    expect(whole.code).toBe(0);
    expect(fs.readdirSync(path.join(out, 'htdemucs')).sort()).toEqual(['song', 'song [60-90.5]']);
  });

  it('demix serve on a busy port: one friendly line, exit 1', async () => {
    const root = tempDir();
    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await run(['serve', '--port', String(port), '--data-dir', path.join(root, 'data')]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^demix: port ${port} on 127\\.0\\.0\\.1 is already in use: choose another with --port`));
    } finally {
      busy.close();
    }
  });

  it('with another process running the queue, the CLI reports it and waits on the database', async () => {
    const root = tempDir();
    const data = path.join(root, 'data');
    const runner = await fakeCore(data); // plays the running app
    cores.push(runner);
    const [song] = makeInputs(root, ['shared.mp3']);
    const child = spawn(process.execPath, [BIN, 'separate', song, '-o', path.join(root, 'out'), '--data-dir', data], {
      env: { ...process.env, DEMIX_WORKER_SCRIPT: FAKE_WORKER },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(stderr).toMatch(new RegExp(`another Demix process \\(pid ${process.pid} .*\\) is running the job queue.*waiting`));
    expect(code).toBe(0);
    expect(stdout).toMatch(/1 done, 0 failed/);
    // The runner (this process) did the work.
    await waitFor(() => runner.jobs.list({ limit: 5, offset: 0 }).jobs[0]?.status === 'done', 5000, 'runner job done');
  });
});

describe('demix CLI with the real engine', () => {
  it('separates a 4 s clip into 4 stems of the right length; bad files beside it fail with one line each', async () => {
    const root = tempDir();
    const clip = path.join(root, 'clip.flac');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', FIXTURE, '-t', '4', clip]);
    const text = path.join(root, 'notes.mp3');
    fs.writeFileSync(text, 'not audio\n'.repeat(100));
    const trunc = path.join(root, 'trunc.mp3');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', FIXTURE, '-t', '8', trunc]);
    fs.truncateSync(trunc, Math.floor(fs.statSync(trunc).size * 0.4));
    const zero = path.join(root, 'zero.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '0', zero]);
    const out = path.join(root, 'out');
    const r = spawnSync(process.execPath, [BIN, 'separate', clip, text, trunc, zero, '-o', out, '--data-dir', path.join(root, 'data')], {
      encoding: 'utf8',
      timeout: 840_000,
      killSignal: 'SIGKILL',
      env: { ...process.env, DEMIX_WORKER_SCRIPT: '' },
    });
    expect(r.signal, `killed after the time limit; output so far:\n${r.stdout}\n${r.stderr}`).toBeNull();
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(1);
    expect(r.stdout).toMatch(/✓ clip\.flac → .* \(4 stems, .*(cpu|cuda|dml|coreml|webgpu)\)/);
    // Refused at add (its content is text), on stderr with its path.
    expect(r.stderr).toMatch(/✗ .*notes\.mp3: Named like audio but holds text, not sound/);
    expect(r.stdout).toMatch(/✗ trunc\.mp3: .*truncated or damaged/);
    expect(r.stdout).toMatch(/✗ zero\.wav: .*(no audio samples|no audio track)/);
    expect(r.stdout).toMatch(/1 done, 3 failed, 0 skipped/);
    const stems = listFiles(path.join(out, 'htdemucs', 'clip'));
    expect(stems.map((f) => path.basename(f))).toEqual(['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav']);
    for (const f of stems) {
      // 16-bit stereo 44.1 kHz: data bytes / 4 = frames.
      const frames = (fs.statSync(f).size - 44) / 4;
      expect(Math.abs(frames / 44100 - 4)).toBeLessThan(0.05);
    }
    expect(listFiles(out).filter((f) => f.includes('.partial'))).toEqual([]);
  }, 900_000);
});
