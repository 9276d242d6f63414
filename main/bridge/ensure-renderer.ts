/**
 * `demix serve` builds the UI itself when dist/renderer is missing or older than its sources
 * (a fresh clone whose postinstall could not build it, or a source edit), so a normal install
 * never answers 503. The build runs in a child process (vite, a few seconds) through
 * scripts/build.mjs, which swaps the new folder in whole.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rendererProblem } from '../../scripts/freshness.mjs';

export interface EnsureResult {
  /** Why a build was needed (null: the build was fresh). */
  reason: string | null;
  built: boolean;
  /** Set when a needed build could not be done: what went wrong, in words. */
  error?: string;
}

export async function ensureRenderer(root: string, log: (line: string) => void): Promise<EnsureResult> {
  const reason = rendererProblem(root);
  if (!reason) return { reason, built: false };
  const script = path.join(root, 'scripts', 'build.mjs');
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!fs.existsSync(script) || !fs.existsSync(vite)) {
    const error = 'vite is not installed here (run `npm install` in the Demix folder)';
    if (reason === 'not built') log(`demix: the UI is not built and cannot be built: ${error}.`);
    return { reason, built: false, error };
  }
  log(`demix: building the UI (${reason}), a few seconds…`);
  const started = Date.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    let err = '';
    const child = spawn(process.execPath, [script, '--renderer', '--quiet'], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => (err += d));
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (c) => resolve({ code: c, stderr: err }));
  });
  if (code !== 0) {
    const error = stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${code}`;
    log(`demix: could not build the UI (${error})${reason === 'not built' ? '' : '; serving the previous build'}.`);
    return { reason, built: false, error };
  }
  log(`demix: UI built in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return { reason, built: true };
}
