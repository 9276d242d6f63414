/**
 * The main window: isolated, sandboxed, no Node, web security on, our page only.
 */
import { BrowserWindow, type BrowserWindowConstructorOptions } from 'electron';
import { APP_URL, devRendererUrl, guardWebContents } from './security.ts';

export function windowOptions(preloadPath: string, iconPath?: string): BrowserWindowConstructorOptions {
  return {
    width: 1180,
    height: 780,
    minWidth: 720,
    minHeight: 480,
    title: 'Demix',
    show: false,
    backgroundColor: '#15161a',
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: !process.env.DEMIX_NO_DEVTOOLS,
    },
  };
}

export async function createMainWindow(opts: { preloadPath: string; iconPath?: string }): Promise<BrowserWindow> {
  const win = new BrowserWindow(windowOptions(opts.preloadPath, opts.iconPath));
  guardWebContents(win.webContents);
  win.once('ready-to-show', () => win.show());
  await win.loadURL(devRendererUrl() ?? APP_URL);
  return win;
}
