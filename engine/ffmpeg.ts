/**
 * Finds the ffmpeg binary: FFMPEG_PATH → the copy bundled with the installed app →
 * ffmpeg-static's binary (when its download succeeded) → `ffmpeg` on PATH.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DemixError } from './errors.ts';

export interface FfmpegLocation {
  path: string;
  /** Where it came from: FFMPEG_PATH, bundled, ffmpeg-static, PATH. */
  source: 'FFMPEG_PATH' | 'bundled' | 'ffmpeg-static' | 'PATH';
}

const exe = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, exe);
    if (isExecutable(p)) return p;
  }
  return null;
}

let cached: FfmpegLocation | null = null;

export function resolveFfmpeg(opts: { refresh?: boolean } = {}): FfmpegLocation {
  if (cached && !opts.refresh) return cached;
  const env = process.env.FFMPEG_PATH;
  if (env) {
    if (!isExecutable(env)) throw new DemixError('FFMPEG_MISSING', `FFMPEG_PATH points to ${env}, which is not an executable file: fix or unset FFMPEG_PATH.`);
    return (cached = { path: env, source: 'FFMPEG_PATH' });
  }
  const rp = (process as NodeJS.Process & { resourcesPath?: string }).resourcesPath;
  if (rp) {
    const bundled = path.join(rp, 'ffmpeg', exe);
    if (isExecutable(bundled)) return (cached = { path: bundled, source: 'bundled' });
  }
  try {
    const req = createRequire(import.meta.url);
    const p = req('ffmpeg-static') as string | null;
    if (p && existsSync(p) && isExecutable(p)) return (cached = { path: p, source: 'ffmpeg-static' });
  } catch {
    // not installed
  }
  const sys = onPath();
  if (sys) return (cached = { path: sys, source: 'PATH' });
  throw new DemixError(
    'FFMPEG_MISSING',
    'ffmpeg not found: install it (apt install ffmpeg / brew install ffmpeg / winget install ffmpeg), or set FFMPEG_PATH to its binary.',
  );
}

/** `ffmpeg -version`'s first line, e.g. "ffmpeg version 5.1.6-0+deb12u1". */
export function ffmpegVersion(loc: FfmpegLocation = resolveFfmpeg()): string {
  const r = spawnSync(loc.path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new DemixError('FFMPEG_MISSING', `${loc.path} did not run (${r.error?.message ?? `exit ${r.status}`}): reinstall ffmpeg or set FFMPEG_PATH.`);
  return (r.stdout.split('\n')[0] ?? '').trim();
}
