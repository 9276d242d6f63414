/**
 * Where Demix keeps its data, and where a job's stems go.
 */
import os from 'node:os';
import path from 'node:path';

export const DB_FILE_NAME = 'demix.db';

/** The platform's data folder for Demix (the CLI's default; Electron passes userData instead). */
export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  if (platform === 'win32') {
    const appData = env.APPDATA || path.win32.join(home, 'AppData', 'Roaming');
    return path.win32.join(appData, 'Demix');
  }
  if (platform === 'darwin') return path.posix.join(home, 'Library', 'Application Support', 'Demix');
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local', 'share');
  return path.join(xdg, 'demix');
}

/** `--data-dir` beats `DEMIX_DATA_DIR` beats the platform default. */
export function resolveDataDir(flag?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return path.resolve(flag);
  if (env.DEMIX_DATA_DIR) return path.resolve(env.DEMIX_DATA_DIR);
  return defaultDataDir();
}

/** The default output root for the app (the CLI defaults to ./separated). */
export function defaultOutputDir(home: string = os.homedir()): string {
  return path.join(home, 'Music', 'Demix');
}

/** Track name of an input file: its base name without the extension. */
export function trackName(inputPath: string): string {
  const base = path.basename(inputPath);
  const ext = path.extname(base);
  const name = ext && ext.length < base.length ? base.slice(0, -ext.length) : base;
  return sanitizeSegment(name);
}

/** Makes one path segment safe on every platform (no separators, no reserved characters, no trailing dots). */
export function sanitizeSegment(name: string): string {
  // eslint-disable-next-line no-control-regex
  let s = name.replace(/[<>:"/\\|?*\u0000-\u001f]/g, '_').replace(/[. ]+$/g, '');
  if (!s || s === '.' || s === '..') s = '_';
  if (/^(con|prn|aux|nul|com\d|lpt\d)$/i.test(s)) s = `_${s}`;
  return s.slice(0, 200);
}

/**
 * The exact folder a job's stems go into:
 * files: `<root>/<model>/<track>`; folders: `<root>/<model>/<relative dir>/<track>`.
 */
export function jobOutputDir(root: string, modelId: string, inputPath: string, relativePath: string | null): string {
  const parts = [root, sanitizeSegment(modelId)];
  if (relativePath) {
    const dir = path.dirname(relativePath);
    if (dir && dir !== '.') parts.push(...dir.split(/[\\/]+/).filter(Boolean).map(sanitizeSegment));
  }
  parts.push(trackName(inputPath));
  return path.join(...parts);
}

/** True for names of temp files the engine writes before renaming into place. */
export function isPartialName(name: string): boolean {
  return /\.partial($|[.-])/.test(name);
}
