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
 * Each download gets DEMIX_DOWNLOAD_TIMEOUT_S seconds (default 120).
 *
 * Before the downloads (which need no network to skip), it builds what `npx demix` and
 * `npx demix serve` run: the CLI bundle (dist/cli.js, so the CLI starts fast) and the renderer
 * (dist/renderer). Both are offline; if either fails, the CLI falls back to the TypeScript
 * sources and `demix serve` builds the UI on its first start.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describeFailure } from './download-failure.mjs';

const require = createRequire(import.meta.url);
const skipAll = process.env.DEMIX_SKIP_DOWNLOADS === '1';
const timeoutMs = Math.max(1, Number(process.env.DEMIX_DOWNLOAD_TIMEOUT_S) || 120) * 1000;
const say = (m) => console.log(`demix postinstall: ${m}`);
const warn = (m) => console.warn(`demix postinstall: ${m}`);
const firstLine = (e) => String(e instanceof Error ? e.message : e).split('\n')[0].slice(0, 160);

// The local builds: offline, a few seconds.
if (process.env.DEMIX_SKIP_BUILD === '1') {
  say('skipping the CLI and UI builds (asked by environment)');
} else {
  let build = null;
  try {
    build = await import('./build.mjs');
    build.setQuiet();
  } catch (e) {
    warn(`could not prebuild the CLI and UI (${/esbuild|vite/.test(String(e)) ? 'esbuild is not installed (a production-only install?)' : firstLine(e)}); \`npx demix\` runs from the TypeScript sources (slower start) and \`demix serve\` builds the UI when it can.`);
  }
  if (build) {
    try {
      await build.buildCli();
      build.writeNotices();
      say('CLI ready (dist/cli.js)');
    } catch (e) {
      warn(`could not prebuild the CLI (${firstLine(e)}); \`npx demix\` runs from the TypeScript sources instead (slower start).`);
    }
    try {
      if (build.buildRenderer()) say('UI ready (dist/renderer)');
      else warn('UI not built (vite is not installed); `npm start` and `demix serve` build it when vite is there.');
    } catch (e) {
      warn(`could not build the UI (${firstLine(e)}); \`demix serve\` will try again on its first start.`);
    }
  }
}

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
    say(`skipping ${step.pkg} download (asked by environment)`);
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
    timeout: timeoutMs,
    env: process.env,
    encoding: 'utf8',
  });
  if (res.status === 0) {
    say(`${step.pkg} ready`);
  } else {
    warn(`could not fetch ${step.pkg}'s binary: ${describeFailure({ ...res, timeoutMs })}; ${step.without}.`);
  }
}
