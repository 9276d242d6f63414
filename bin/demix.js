#!/usr/bin/env node
// The `demix` command. Runs the TypeScript sources through tsx so that `npx demix` works
// straight after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../main/cli.ts');
process.exitCode = await main(process.argv);
