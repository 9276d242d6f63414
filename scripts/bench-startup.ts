/**
 * CLI start-up (no model needed): `demix --version` from the prebuilt bundle (dist/cli.js) and
 * from the TypeScript sources (tsx), against a bare `node -e 0`, interleaved on the same machine.
 * Target (issue 11): the bundle at most 6x a bare Node start. Run: `npm run bench -- --startup`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.DEMIX_BENCH_STARTUP_RUNS) || 15;

const built = spawnSync(process.execPath, ['scripts/build.mjs', '--cli', '--quiet'], { cwd: repo, encoding: 'utf8' });
if (built.status !== 0) throw new Error(`could not build the CLI bundle: ${built.stderr}`);

const cases = {
  'node -e 0': { args: ['-e', '0'], env: {} },
  'demix --version (bundle)': { args: ['bin/demix.js', '--version'], env: {} },
  'demix --version (tsx)': { args: ['bin/demix.js', '--version'], env: { DEMIX_FROM_SOURCE: '1' } },
} as const;
const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < N; i++) {
  for (const [name, c] of Object.entries(cases)) {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, c.args, { cwd: repo, env: { ...process.env, ...c.env }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${name} failed: ${r.stderr}`);
    times[name].push(Number(process.hrtime.bigint() - t) / 1e6);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = median(times['node -e 0']);
console.log(`\nCLI start-up, median of ${N} interleaved runs:`);
for (const [name, xs] of Object.entries(times)) console.log(`  ${name.padEnd(26)} ${median(xs).toFixed(0).padStart(6)} ms  (${(median(xs) / bare).toFixed(1)}x node -e 0)`);
const ratio = median(times['demix --version (bundle)']) / bare;
console.log(`  target: bundle ≤ 6x node -e 0 → ${ratio <= 6 ? 'met' : 'NOT met'} (${ratio.toFixed(1)}x)`);
if (ratio > 6) process.exitCode = 1;
