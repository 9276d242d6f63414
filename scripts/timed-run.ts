/**
 * Bench support (scripts/bench*.ts): runs a command, measuring its wall time and (with GNU time,
 * /usr/bin/time) the peak RSS of the whole process.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

export interface Timed {
  wallMs: number;
  peakRssMB: number | null;
  stdout: string;
}

const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

/**
 * Runs `cmd args` in `cwd` with the environment plus `env`; rejects with the end of its stderr
 * when it exits non-zero. `rssFile` is where GNU time writes the peak RSS (removed after).
 */
export function timedRun(cmd: string, args: string[], opts: { cwd: string; rssFile: string; env?: NodeJS.ProcessEnv }): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const { rssFile } = opts;
    const [c, a] = gnuTime ? [gnuTime, ['-f', '%M', '-o', rssFile, cmd, ...args]] : [cmd, args];
    const t0 = performance.now();
    const child = spawn(c, a, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - t0;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`));
      let peakRssMB: number | null = null;
      if (gnuTime && existsSync(rssFile)) {
        peakRssMB = Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024;
        rmSync(rssFile, { force: true });
      }
      resolve({ wallMs, peakRssMB, stdout });
    });
  });
}
