#!/usr/bin/env node
// The `demix` command. Runs the prebuilt bundle dist/cli.js (made by `npm install`'s postinstall
// or `npm run build`) while it is newer than every source file it was built from; otherwise
// (a source edit, no build yet, or DEMIX_FROM_SOURCE=1) runs the TypeScript sources through tsx,
// which is slower to start but needs no build step.

// `demix jobs | head` closes the pipe early: exit quietly instead of crashing on EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

const { cliBundleProblem } = await import('../scripts/freshness.mjs');
const root = new URL('..', import.meta.url);
const stale = process.env.DEMIX_FROM_SOURCE === '1' ? 'DEMIX_FROM_SOURCE=1' : cliBundleProblem(decodeURIComponent(root.pathname));
if (process.env.DEMIX_DEBUG_START === '1') process.stderr.write(`demix: ${stale ? `from sources (bundle: ${stale})` : 'from dist/cli.js'}\n`);

let main;
if (!stale) {
  ({ main } = await import('../dist/cli.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../main/cli.ts'));
}
process.exitCode = await main(process.argv);
