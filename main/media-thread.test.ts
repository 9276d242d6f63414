/**
 * The media worker thread: the same peaks as decoding in-process, a mixdown written by the
 * thread, errors carried back with their code, and a dead worker rejecting (not hanging) its
 * requests, with the next request starting a fresh worker.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaThread } from './media-thread.ts';
import { computePeaks } from './peaks.ts';
import { tempDir } from '../testing/test-harness.ts';

const threads: MediaThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.close();
});

function tone(dir: string, name: string, freq: number, seconds: number): string {
  const f = path.join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${freq}:duration=${seconds}`, '-ac', '2', f]);
  return f;
}

describe('media thread', () => {
  it('computes the same peaks as the in-process decoder, and writes a mixdown', async () => {
    const dir = tempDir();
    const a = tone(dir, 'a.wav', 220, 2);
    const b = tone(dir, 'b.wav', 330, 1.5);
    const t = new MediaThread();
    threads.push(t);
    const [viaThread, inProcess] = await Promise.all([t.peaks(a), computePeaks(a)]);
    expect(viaThread.durationSec).toBeCloseTo(inProcess.durationSec, 6);
    expect(Array.from(viaThread.peaks)).toEqual(Array.from(inProcess.peaks));
    const res = await t.mixdown({ inputs: [{ path: a, gain: 0.5 }, { path: b, gain: 0.5 }], outDir: dir, fileName: 'mix.wav', format: 'wav', bits: 16, clipMode: 'rescale' });
    expect(res.path).toBe(path.join(dir, 'mix.wav'));
    expect(res.durationSec).toBeCloseTo(2, 1);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('errors come back with their code; a worker that dies rejects its requests and is replaced', async () => {
    const dir = tempDir();
    const t = new MediaThread();
    threads.push(t);
    const err = await t.peaks(path.join(dir, 'missing.wav')).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('INPUT_NOT_FOUND');

    const broken = new MediaThread(path.join(dir, 'no-such-worker.mjs'));
    threads.push(broken);
    await expect(broken.peaks(tone(dir, 'c.wav', 440, 0.2))).rejects.toThrow(/media worker (crashed|stopped)/);
    // Still answers (with the same failure) instead of hanging on a dead worker.
    await expect(broken.peaks(path.join(dir, 'c.wav'))).rejects.toThrow(/media worker (crashed|stopped)/);
  });
});
