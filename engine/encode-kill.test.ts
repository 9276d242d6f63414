/**
 * The stem encoder's ffmpeg killed while the writer waits for its pipe to drain: the job's
 * finish() must fail within seconds with a clear message and leave no partial files.
 * (Real ffmpeg, really stopped and killed from outside.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAudioWriter } from './encode.ts';

/** Pids of running ffmpeg processes whose command line mentions `needle` (Linux /proc). */
function ffmpegPidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('ffmpeg') && cmd.includes(needle)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

describe.runIf(process.platform === 'linux')('encoder killed mid-write', () => {
  for (const format of ['flac', 'mp3'] as const) {
    it(`${format}: finish() rejects with a clear message and leaves no partials`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demix-enc-kill-'));
      const final = path.join(dir, `vocals.${format}`);
      const w = await openAudioWriter(final, { format, bits: 16 });
      const block = new Float32Array(44100 * 2);
      for (let i = 0; i < block.length; i++) block[i] = 0.3 * Math.sin(i / 20);
      for (let s = 0; s < 20; s++) await w.write(block); // 20 s of stereo: far more than a pipe holds
      const finishing = w.finish().then(
        () => null,
        (e: Error) => e,
      );
      // Find the encoder, stop it so its pipe fills and the writer waits for 'drain', then kill it.
      let pids: number[] = [];
      for (let i = 0; i < 500 && !pids.length; i++) {
        pids = ffmpegPidsWith(final);
        if (!pids.length) await new Promise((r) => setTimeout(r, 10));
      }
      expect(pids.length).toBe(1);
      process.kill(pids[0], 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 300));
      process.kill(pids[0], 'SIGKILL');
      const timeout = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 10_000).unref());
      const err = await Promise.race([finishing, timeout]);
      expect(err).not.toBe('hung');
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/encoder \(ffmpeg\) was stopped by SIGKILL/);
      expect(fs.readdirSync(dir)).toEqual([]);
    }, 20_000);
  }
});
