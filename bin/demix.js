#!/usr/bin/env node
// The `demix` command. Runs the TypeScript sources through tsx so that `npx demix` works
// straight after `npm install`, with no build step.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

// On Linux, glibc can back malloc'd memory with transparent huge pages (glibc ≥ 2.35). ONNX
// Runtime's first runs on this model touch ~2 GB of fresh memory; huge pages make that cheaper
// (measured by `npm run bench`). The tunable must be set before the process starts, so re-exec
// once with it. DEMIX_HUGETLB=0 turns this off.
const tunable = 'glibc.malloc.hugetlb=1';
const current = process.env.GLIBC_TUNABLES ?? '';
if (process.platform === 'linux' && process.env.DEMIX_HUGETLB !== '0' && !current.includes('glibc.malloc.hugetlb')) {
  const env = { ...process.env, GLIBC_TUNABLES: current ? `${current}:${tunable}` : tunable, DEMIX_PARENT_PID: String(process.pid) };
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  // Forward signals (Ctrl-C, kill) to the real process and exit as it does.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  const code = await new Promise((resolve) => {
    child.on('error', () => resolve(null));
    child.on('exit', (c, signal) => resolve(c ?? 128 + (os.constants.signals[signal] ?? 15)));
  });
  if (code !== null) process.exit(code);
  // could not re-exec: carry on in this process without the tunable
} else if (process.env.DEMIX_PARENT_PID) {
  // Re-executed child: if the wrapper is killed outright (SIGKILL), do not live on as an orphan.
  const parent = Number(process.env.DEMIX_PARENT_PID);
  delete process.env.DEMIX_PARENT_PID;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 1000).unref();
}

// `demix jobs | head` closes the pipe early: exit quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../main/cli.ts');
process.exitCode = await main(process.argv);
