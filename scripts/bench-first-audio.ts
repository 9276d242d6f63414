/**
 * Time to the first playable audio vs the full separation, through the real core (job store →
 * worker thread → engine), as the app runs it: from adding the file to `ready > 0` on the job
 * (the media service can serve the first finished samples from then on), and to `done`.
 * Also splits the start-up: worker + model load (until the worker reports its provider), the first
 * segment (one session.run plus STFT/iSTFT), and the later segments.
 *
 * Usage: node --import tsx scripts/bench-first-audio.ts [file] [--rounds N]
 * (run from `npm run bench` too; prints one JSON line last).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCore } from '../main/core.ts';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface FirstAudio {
  /** add → the worker reported its provider (worker start + model load, or 0 when warm). */
  startupMs: number;
  /** add → ready > 0 (first playable audio). */
  firstAudioMs: number;
  /** Frames ready at that moment. */
  firstReadyFrames: number;
  /** add → done. */
  fullMs: number;
  segments: number;
}

/** A copy of `src` with a comment tag (the audio stream copied unchanged). */
function tagged(src: string, out: string, comment: string): void {
  const r = spawnSync(resolveFfmpeg().path, ['-v', 'error', '-y', '-i', src, '-map', '0:a', '-c', 'copy', '-metadata', `comment=${comment}`, out]);
  if (r.status !== 0) throw new Error(`ffmpeg could not copy ${src}: ${r.stderr}`);
}

/** Separates `file` `rounds` times with one core (round 1 cold: worker + model; later rounds warm). */
export async function measureFirstAudio(file: string, rounds = 2): Promise<FirstAudio[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'demix-bench-first-'));
  const core = await createCore({ dataDir: path.join(dir, 'data'), host: 'cli', appVersion: 'bench', pollMs: 100 });
  const out: FirstAudio[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      // Each round gets its own copy of the file with a different tag (same audio, other bytes):
      // the same bytes would be a result-cache hit (stems copied, nothing separated).
      const input = path.join(dir, `round-${r}${path.extname(file)}`);
      tagged(file, input, `demix bench round ${r}`);
      const t0 = performance.now();
      let startup = -1;
      let first = -1;
      let firstFrames = 0;
      const res = await core.jobs.addPaths([input], { outputDir: path.join(dir, `out-${r}`), format: 'wav', bits: 16 });
      const id = res.jobs[0]?.id;
      if (!id) throw new Error(`not queued: ${res.rejected.map((x) => x.reason).join('; ')}`);
      const job = await new Promise<{ segmentsDone: number }>((resolve, reject) => {
        const off = core.bus.on('job-updated', (j) => {
          if (j.id !== id) return;
          const now = performance.now() - t0;
          if (startup < 0 && j.provider) startup = now;
          if (first < 0 && (j.readySamples ?? 0) > 0) {
            first = now;
            firstFrames = j.readySamples!;
          }
          if (j.status === 'done') {
            off();
            resolve(j);
          } else if (j.status === 'failed' || j.status === 'canceled') {
            off();
            reject(new Error(`${j.status}: ${j.error?.message}`));
          }
        });
      });
      if (!job.segmentsDone) throw new Error(`round ${r + 1} separated nothing (a result-cache hit?)`);
      out.push({ startupMs: startup, firstAudioMs: first, firstReadyFrames: firstFrames, fullMs: performance.now() - t0, segments: job.segmentsDone });
    }
  } finally {
    await core.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const ri = args.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(args[ri + 1]) : 2;
  const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--rounds') ?? path.join(repo, '.bench', 'clip-30s.flac');
  const res = await measureFirstAudio(file, rounds);
  res.forEach((r, i) =>
    console.log(
      `round ${i + 1} (${i === 0 ? 'cold: worker + model load' : 'warm worker'}): first playable audio after ${(r.firstAudioMs / 1000).toFixed(2)} s ` +
        `(${(r.firstReadyFrames / 44100).toFixed(2)} s of audio ready; worker ready after ${(r.startupMs / 1000).toFixed(2)} s), full separation ${(r.fullMs / 1000).toFixed(2)} s, ${r.segments} segments`,
    ),
  );
  console.log(JSON.stringify(res));
}
