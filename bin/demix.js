#!/usr/bin/env node
// The `demix` command. Runs the TypeScript sources through tsx so that `npx demix` works
// straight after `npm install`, with no build step.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// On Linux, glibc can back malloc'd memory with transparent huge pages (glibc ≥ 2.35). ONNX
// Runtime's first runs on this model touch ~2 GB of fresh memory; huge pages make that cheaper
// (measured by `npm run bench`). The tunable must be set before the process starts, so re-exec
// once with it. DEMIX_HUGETLB=0 turns this off.
const tunable = 'glibc.malloc.hugetlb=1';
const current = process.env.GLIBC_TUNABLES ?? '';
if (process.platform === 'linux' && process.env.DEMIX_HUGETLB !== '0' && !current.includes('glibc.malloc.hugetlb')) {
  const env = { ...process.env, GLIBC_TUNABLES: current ? `${current}:${tunable}` : tunable };
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  if (r.error) {
    // could not re-exec: carry on in this process without the tunable
  } else {
    process.exit(r.status ?? (r.signal ? 128 + 15 : 1));
  }
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
