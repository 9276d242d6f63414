#!/usr/bin/env node
// The `demix` command. Runs the TypeScript sources through tsx so that `npx demix` works
// straight after `npm install`, with no build step.

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
