/**
 * Native touches: open dialogs, "show in folder", dragging a stem out of the window, and the
 * Electron-ABI better-sqlite3 binding used by unpackaged runs (`npm start`).
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { dialog, nativeImage, shell, type BrowserWindow, type IpcMainEvent, type NativeImage } from 'electron';
import { AUDIO_EXTENSIONS } from '../../engine/audio-files.ts';
import { CoreError } from '../core-error.ts';
import type { HandlerHost, ShellCore } from '../handlers.ts';
import { resolveMedia } from '../media.ts';

/** The open dialog's audio filter: the same list the folder scan uses (engine/audio-files.ts). */
export const AUDIO_DIALOG_EXTENSIONS: string[] = [...AUDIO_EXTENSIONS];

export async function showOpenDialog(win: BrowserWindow | null, folders: boolean): Promise<string[]> {
  const options: Electron.OpenDialogOptions = folders
    ? { title: 'Add a folder of songs', properties: ['openDirectory', 'multiSelections'] }
    : {
        title: 'Add songs',
        properties: ['openFile', 'multiSelections'],
        filters: [
          { name: 'Audio', extensions: AUDIO_DIALOG_EXTENSIONS },
          { name: 'All files', extensions: ['*'] },
        ],
      };
  const res = win && !win.isDestroyed() ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
  return res.canceled ? [] : res.filePaths;
}

export async function revealPath(p: string): Promise<void> {
  try {
    await stat(p);
  } catch {
    throw new CoreError('NOT_FOUND', `${p} does not exist any more.`);
  }
  shell.showItemInFolder(p);
}

export function electronHost(opts: { appVersion: string; getWindow(): BrowserWindow | null }): HandlerHost {
  return {
    kind: 'electron',
    appVersion: opts.appVersion,
    reveal: revealPath,
    openFiles: ({ folders }) => showOpenDialog(opts.getWindow(), folders),
  };
}

let dragIcon: NativeImage | null = null;
export function setDragIcon(iconPath: string): void {
  if (!existsSync(iconPath)) return;
  const img = nativeImage.createFromPath(iconPath);
  if (!img.isEmpty()) dragIcon = img.resize({ width: 64, height: 64 });
}

/** Starts a native drag of a stem the job owns (the same confinement as playback). */
export async function startStemDrag(core: Pick<ShellCore, 'jobs'>, event: IpcMainEvent, jobId: string, stem: string): Promise<void> {
  const file = await resolveMedia(core, jobId, stem);
  if (!file) return;
  // macOS needs a non-empty image; a 1×1 transparent pixel is the fallback.
  const icon =
    dragIcon ??
    nativeImage.createFromDataURL('data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==');
  event.sender.startDrag({ file, icon });
}

/**
 * Path of a better-sqlite3 binary built for this Electron (scripts/start.mjs builds it into
 * `.electron-native/`), or undefined to use the default. Exported to the store through the
 * DEMIX_SQLITE_BINDING environment variable, which it passes as `nativeBinding`.
 */
export function electronSqliteBinding(appRoot: string): string | undefined {
  if (process.env.DEMIX_SQLITE_BINDING && existsSync(process.env.DEMIX_SQLITE_BINDING)) return process.env.DEMIX_SQLITE_BINDING;
  const candidate = path.join(appRoot, '.electron-native', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  return existsSync(candidate) ? candidate : undefined;
}
