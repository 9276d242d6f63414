/**
 * Electron entry (bundled by scripts/build.mjs to dist/electron/main.js).
 *
 * App lifecycle, single-instance lock (files opened while Demix runs join the running app's
 * queue), macOS open-file, the core (store + queue) in userData, the window, IPC, protocols,
 * menu and queue feedback.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { app, dialog, session, shell, BrowserWindow, Notification, type WebContents } from 'electron';
import { createCore, type Core } from '../core.ts';
import { createHandlers } from '../handlers.ts';
import { argvSkip, pathsFromArgv } from './argv.ts';
import { utilityEngineSpawner } from './engine-process.ts';
import { attachFeedback } from './feedback.ts';
import { forwardEvents, registerIpc } from './ipc.ts';
import { installMenu } from './menu.ts';
import { electronHost, electronSqliteBinding, setDragIcon, showOpenDialog, startStemDrag } from './native.ts';
import { registerProtocols } from './protocol.ts';
import { guardWebContents, hardenSession, registerSchemes } from './security.ts';
import { createMainWindow } from './window.ts';

const log = (m: string) => console.error(m);

/** Folders of the built app: `<appRoot>/dist/{electron,renderer}` (inside app.asar when packaged). */
function appPaths() {
  const root = app.getAppPath();
  const unpacked = (p: string) => p.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
  return {
    root,
    preload: path.join(root, 'dist', 'electron', 'preload.cjs'),
    icon: path.join(root, 'dist', 'electron', 'icon.png'),
    renderer: path.join(root, 'dist', 'renderer'),
    // Worker threads load from the real file system: the worker ships unpacked (electron-builder.yml).
    engineWorker: unpacked(path.join(root, 'dist', 'engine-worker.js')),
    // The engine worker's own process (main/queue/process-worker.ts) starts from this entry.
    engineHost: unpacked(path.join(root, 'dist', 'engine-host.mjs')),
    mediaWorker: unpacked(path.join(root, 'dist', 'media-worker.js')),
  };
}

/**
 * Packaged builds ship ffmpeg and the model weights as extra resources (electron-builder.yml).
 * engine/ffmpeg.ts and models/registry.ts look in process.resourcesPath themselves; the
 * environment variables make the same folders visible to the engine worker threads too.
 */
function useBundledResources(): void {
  if (!app.isPackaged) return;
  const ffmpeg = path.join(process.resourcesPath, 'ffmpeg', process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg');
  if (!process.env.FFMPEG_PATH && existsSync(ffmpeg)) process.env.FFMPEG_PATH = ffmpeg;
  const models = path.join(process.resourcesPath, 'models');
  if (!process.env.DEMIX_MODELS_DIR && existsSync(models)) process.env.DEMIX_MODELS_DIR = models;
}

let core: Core | null = null;
let win: BrowserWindow | null = null;
const pending: string[] = [];
const getWindow = () => (win && !win.isDestroyed() ? win : null);

async function enqueue(paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  if (!core) {
    pending.push(...paths);
    return;
  }
  try {
    const res = await core.jobs.addPaths(paths);
    if (res.rejected.length > 0 && Notification.isSupported()) {
      const first = res.rejected[0];
      const more = res.rejected.length > 1 ? ` (and ${res.rejected.length - 1} more)` : '';
      new Notification({ title: 'Demix skipped a file', body: `${path.basename(first.path)}: ${first.reason}${more}` }).show();
    }
  } catch (e) {
    log(`demix: could not add ${paths.length} path(s): ${e instanceof Error ? e.message : String(e)}`);
  }
}

function focusWindow(): void {
  const w = getWindow();
  if (!w) return;
  if (w.isMinimized()) w.restore();
  w.show();
  w.focus();
}

async function openWindow(): Promise<void> {
  const p = appPaths();
  win = await createMainWindow({ preloadPath: p.preload, iconPath: existsSync(p.icon) ? p.icon : undefined });
  win.on('closed', () => (win = null));
}

async function start(): Promise<void> {
  await app.whenReady();
  const p = appPaths();
  useBundledResources();
  const binding = app.isPackaged ? undefined : electronSqliteBinding(p.root);
  if (binding) process.env.DEMIX_SQLITE_BINDING = binding;

  try {
    core = await createCore({
      dataDir: app.getPath('userData'),
      host: 'electron',
      appVersion: app.getVersion(),
      ...(existsSync(p.engineWorker) ? { workerScript: p.engineWorker } : {}),
      // Engine processes start as Electron utility processes (the app's binary does not run as plain Node).
      ...(existsSync(p.engineHost) ? { spawnEngine: utilityEngineSpawner(p.engineHost) } : {}),
      ...(existsSync(p.mediaWorker) ? { mediaWorkerScript: p.mediaWorker } : {}),
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    dialog.showErrorBox('Demix could not start', message);
    app.exit(1);
    return;
  }
  const c = core;

  hardenSession(session.defaultSession);
  registerProtocols(session.defaultSession, { core: c, rendererDir: p.renderer, log });
  setDragIcon(p.icon);

  const handlers = createHandlers(c, electronHost({ appVersion: app.getVersion(), getWindow }));
  registerIpc({ handlers, getWindow, log, onDrag: (event, jobId, stem) => startStemDrag(c, event, jobId, stem) });
  forwardEvents(c, getWindow);
  attachFeedback(c, getWindow);
  installMenu(
    {
      openFiles: () => void showOpenDialog(getWindow(), false).then(enqueue),
      openFolder: () => void showOpenDialog(getWindow(), true).then(enqueue),
      showDataFolder: () => void shell.openPath(c.dataDir),
    },
    { appName: app.getName(), devTools: !app.isPackaged },
  );

  await openWindow();
  await enqueue(pending.splice(0));

  app.on('activate', () => {
    if (!getWindow()) void openWindow();
  });
}

// ---- process-level wiring (runs at import) -------------------------------------------------

registerSchemes();

if (!app.requestSingleInstanceLock()) {
  // Another Demix is running: it receives our argv through 'second-instance'.
  app.quit();
} else {
  pending.push(...pathsFromArgv(process.argv, process.cwd(), { skip: argvSkip(app.isPackaged) }));

  app.on('second-instance', (_event, argv, workingDirectory) => {
    void enqueue(pathsFromArgv(argv, workingDirectory, { skip: argvSkip(app.isPackaged) }));
    focusWindow();
  });

  // macOS: files dropped on the dock icon or opened with Demix (also before 'ready').
  app.on('open-file', (event, filePath) => {
    event.preventDefault();
    void enqueue([filePath]);
    focusWindow();
  });

  app.on('web-contents-created', (_event, contents: WebContents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    if (contents.getType() === 'window' || contents.getType() === 'webview') guardWebContents(contents);
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let closing = false;
  let closed = false;
  app.on('before-quit', (event) => {
    if (closed || !core) return;
    event.preventDefault();
    if (closing) return;
    closing = true;
    const c = core;
    void c
      .close()
      .catch((e: unknown) => log(`demix: closing the store failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        closed = true;
        app.quit();
      });
  });

  start().catch((e: unknown) => {
    dialog.showErrorBox('Demix could not start', e instanceof Error ? e.message : String(e));
    app.exit(1);
  });
}
