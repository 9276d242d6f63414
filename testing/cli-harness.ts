/**
 * Test support (imported only by *.test.ts files): the `demix` CLI run in-process, its stdout and
 * stderr captured.
 */
import { PassThrough } from 'node:stream';
import { main } from '../main/cli.ts';
import { FAKE_WORKER } from './test-harness.ts';

/** `demix <args>` with the fake engine worker (a test double), or the real engine with `fake: false`. */
export async function runCli(args: string[], opts: { fake?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (d) => (stdout += d));
  err.on('data', (d) => (stderr += d));
  const code = await main(['node', 'demix', ...args], { out, err, workerScript: opts.fake === false ? undefined : FAKE_WORKER });
  return { code, stdout, stderr };
}
