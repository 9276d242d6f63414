#!/usr/bin/env node
/**
 * Runs the download steps of electron, ffmpeg-static and onnxruntime-node ourselves.
 *
 * package.json's `allowScripts` stops npm from running them directly, because on machines with
 * no route to GitHub/CDNs they fail and would take the whole `npm install` down with them. Here we
 * run each one with a time limit: on a normal machine they download as usual (Electron binary,
 * ffmpeg binary, ONNX Runtime CUDA provider); where they cannot, we print one warning line saying
 * what is missing and what still works, and `npm install` succeeds.
 *
 * Skip any of them with the usual variables: ELECTRON_SKIP_BINARY_DOWNLOAD=1,
 * ONNXRUNTIME_NODE_INSTALL=skip, FFMPEG_PATH=/path/to/ffmpeg (or DEMIX_SKIP_DOWNLOADS=1 for all).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const skipAll = process.env.DEMIX_SKIP_DOWNLOADS === '1';

const steps = [
  {
    pkg: 'electron',
    skip: skipAll || process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === '1',
    without: '`npm start` needs it; `npx demix` and `npx demix serve` (the app in a browser) work without it',
  },
  {
    pkg: 'ffmpeg-static',
    skip: skipAll || Boolean(process.env.FFMPEG_PATH),
    without: 'Demix will use FFMPEG_PATH or `ffmpeg` on PATH instead',
  },
  {
    pkg: 'onnxruntime-node',
    skip: skipAll || process.env.ONNXRUNTIME_NODE_INSTALL === 'skip' || process.env.ONNXRUNTIME_NODE_INSTALL_CUDA === 'skip',
    without: 'the CPU execution provider (bundled) still works; CUDA acceleration is unavailable',
  },
];

for (const step of steps) {
  let dir;
  try {
    dir = path.dirname(require.resolve(`${step.pkg}/package.json`));
  } catch {
    continue; // not installed (e.g. production install without devDependencies)
  }
  if (step.skip) {
    console.log(`demix postinstall: skipping ${step.pkg} download (asked by environment)`);
    continue;
  }
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const script = manifest.scripts?.postinstall ?? manifest.scripts?.install;
  if (!script) continue;
  const match = /^node\s+(\S+)/.exec(script);
  if (!match || !existsSync(path.resolve(dir, match[1].endsWith('.js') ? match[1] : `${match[1]}.js`))) continue;
  const res = spawnSync(process.execPath, [match[1]], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 5 * 60_000,
    env: process.env,
    encoding: 'utf8',
  });
  if (res.status === 0) {
    console.log(`demix postinstall: ${step.pkg} ready`);
  } else {
    const why = (res.error?.message || res.stderr || res.stdout || '').trim().split('\n').filter(Boolean).pop() ?? 'unknown error';
    console.warn(`demix postinstall: could not fetch ${step.pkg}'s binary (${why.slice(0, 160)}); ${step.without}.`);
  }
}
