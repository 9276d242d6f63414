/**
 * Window and session hardening: privileged schemes, CSP, no navigation, no new windows, no
 * permissions, no webviews. Everything Electron-specific about trust lives here.
 */
import { app, protocol, shell, type Session, type WebContents, type WebFrameMain } from 'electron';
import { buildCsp } from '../csp.ts';

/** The app's own pages are served from this scheme (see protocol.ts). */
export const APP_SCHEME = 'demix-app';
export const APP_ORIGIN = `${APP_SCHEME}://app`;
export const APP_URL = `${APP_ORIGIN}/index.html`;
/** Stems and inputs for playback: `demix-media://job/<jobId>/<stem>`. */
export const MEDIA_SCHEME = 'demix-media';

/** Content Security Policy for the app's pages (set as a response header by the app protocol). */
const appCsp = (inlineScripts: boolean) => buildCsp({ defaultSrc: "'none'", media: [`${MEDIA_SCHEME}:`, 'blob:'], connect: ["'self'", `${MEDIA_SCHEME}:`], inlineScripts });
export const APP_CSP = appCsp(false);

/** Must run before the app is ready. */
export function registerSchemes(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
    { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, corsEnabled: true } },
  ]);
}

/** A development renderer (vite dev server) is allowed only for unpackaged runs. */
export function devRendererUrl(): string | null {
  const url = process.env.DEMIX_RENDERER_URL;
  if (!url || app.isPackaged) return null;
  return /^http:\/\/(localhost|127\.0\.0\.1):\d+\/?/.test(url) ? url : null;
}

/** True when `url` is one of the app's own pages. */
export function isAppUrl(url: string): boolean {
  if (url.startsWith(`${APP_ORIGIN}/`)) return true;
  const dev = devRendererUrl();
  return dev !== null && url.startsWith(new URL(dev).origin + '/');
}

/** The sender of an IPC message is trustworthy only if it is the top frame of our window showing our page. */
export function isTrustedSender(frame: WebFrameMain | null | undefined, sender: WebContents, ours: WebContents | null): boolean {
  if (!frame || !ours || ours.isDestroyed()) return false;
  if (sender.id !== ours.id) return false;
  if (frame.parent !== null) return false;
  return isAppUrl(frame.url);
}

/** Deny every permission request and check (camera, mic, notifications from the page, …). */
export function hardenSession(ses: Session): void {
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  ses.setDevicePermissionHandler(() => false);
  // Pages from the dev server get the same CSP through response headers.
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (devRendererUrl() && isAppUrl(details.url) && details.resourceType === 'mainFrame') {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [appCsp(true)] } });
      return;
    }
    callback({});
  });
}

/** No navigation away from the app, no new windows (http(s) links open in the browser), no webviews. */
export function guardWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//i.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
}
