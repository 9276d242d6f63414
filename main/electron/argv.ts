/**
 * Files and folders named on a command line (file association, "Open with", a second launch),
 * as absolute paths that exist. Plain Node so it is testable without Electron.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export function pathsFromArgv(argv: readonly string[], cwd: string, opts: { skip: number }): string[] {
  const out: string[] = [];
  let afterDashDash = false;
  for (const arg of argv.slice(opts.skip)) {
    if (!afterDashDash && arg === '--') {
      afterDashDash = true;
      continue;
    }
    // Chromium/Electron switches and macOS's -psn_ process serial number.
    if (!afterDashDash && arg.startsWith('-')) continue;
    if (arg.trim() === '') continue;
    const abs = path.resolve(cwd, arg);
    if (existsSync(abs) && !out.includes(abs)) out.push(abs);
  }
  return out;
}

/** How many leading argv entries are the executable (and, unpackaged, the app folder). */
export function argvSkip(isPackaged: boolean): number {
  return isPackaged ? 1 : 2;
}
