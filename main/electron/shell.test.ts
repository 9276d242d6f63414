// Window security, protocols, menu, queue feedback and argv handling, with `electron` mocked.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFakeCore, makeJob, type FakeCore } from '../../testing/fake-core.ts';
import type { Batch, QueueState } from '../../preload/contract.ts';
import { FakeBrowserWindow, electronMock, notifications } from './electron-mock.ts';

vi.mock('electron', async () => (await import('./electron-mock.ts')).electronMock);

const security = await import('./security.ts');
const { appResponse, mediaResponse, registerProtocols } = await import('./protocol.ts');
const { windowOptions, createMainWindow } = await import('./window.ts');
const { menuTemplate } = await import('./menu.ts');
const { createFeedback, attachFeedback } = await import('./feedback.ts');
const { pathsFromArgv, argvSkip } = await import('./argv.ts');

let root: string;
let ui: string;
let core: FakeCore;
const audio = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256));

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'demix-shell-'));
  ui = path.join(root, 'ui');
  mkdirSync(path.join(ui, 'assets'), { recursive: true });
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Demix</title>');
  writeFileSync(path.join(ui, 'assets', 'index.js'), 'export {}');
  writeFileSync(path.join(root, 'secret.txt'), 'secret');
  const out = path.join(root, 'out');
  mkdirSync(out);
  writeFileSync(path.join(out, 'drums.flac'), audio);
  symlinkSync(path.join(root, 'secret.txt'), path.join(out, 'link.flac'));
  core = createFakeCore({ dataDir: root });
  core.seedDoneJob({ id: 'j1', inputPath: path.join(root, 'in.mp3'), outputDir: out, stems: { drums: path.join(out, 'drums.flac'), link: path.join(out, 'link.flac') } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('window', () => {
  it('isolates, sandboxes and disables Node in the page', () => {
    const o = windowOptions('/app/dist/electron/preload.cjs');
    expect(o.webPreferences).toMatchObject({
      preload: '/app/dist/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('loads the app page from the app scheme and guards navigation', async () => {
    const win = (await createMainWindow({ preloadPath: '/p.cjs' })) as unknown as FakeBrowserWindow;
    expect(win.loadedUrl).toBe('demix-app://app/index.html');
    const prevented: string[] = [];
    const nav = (url: string) => win.webContents.emit('will-navigate', { preventDefault: () => prevented.push(url) }, url);
    nav('https://evil.example/');
    nav('file:///etc/passwd');
    nav('demix-app://app/index.html#/queue');
    expect(prevented).toEqual(['https://evil.example/', 'file:///etc/passwd']);
    expect(win.webContents.windowOpenHandler!({ url: 'https://github.com/' })).toEqual({ action: 'deny' });
    expect(electronMock.shell.openExternal).toHaveBeenCalledWith('https://github.com/');
    expect(win.webContents.windowOpenHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(electronMock.shell.openExternal).toHaveBeenCalledTimes(1);
    let webviewBlocked = false;
    win.webContents.emit('will-attach-webview', { preventDefault: () => (webviewBlocked = true) });
    expect(webviewBlocked).toBe(true);
  });
});

describe('security', () => {
  it('denies every permission request and check', () => {
    let request: ((wc: unknown, p: string, cb: (ok: boolean) => void) => void) | null = null;
    let check: (() => boolean) | null = null;
    let device: (() => boolean) | null = null;
    const ses = {
      setPermissionRequestHandler: (fn: typeof request) => (request = fn),
      setPermissionCheckHandler: (fn: typeof check) => (check = fn),
      setDevicePermissionHandler: (fn: typeof device) => (device = fn),
      webRequest: { onHeadersReceived: vi.fn() },
    };
    security.hardenSession(ses as never);
    const answers: boolean[] = [];
    for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) request!({}, p, (ok) => answers.push(ok));
    expect(answers).toEqual([false, false, false, false, false]);
    expect(check!()).toBe(false);
    expect(device!()).toBe(false);
  });

  it('registers both schemes as privileged, media with stream support', () => {
    security.registerSchemes();
    const schemes = electronMock.protocol.registerSchemesAsPrivileged.mock.calls.at(-1)![0] as { scheme: string; privileges: Record<string, boolean> }[];
    expect(schemes.map((s) => s.scheme)).toEqual(['demix-app', 'demix-media']);
    expect(schemes[1].privileges).toMatchObject({ standard: true, secure: true, stream: true, supportFetchAPI: true });
  });

  it('has a strict CSP: no inline script, no eval, no remote content', () => {
    expect(security.APP_CSP).toContain("default-src 'none'");
    expect(security.APP_CSP).toContain("script-src 'self'");
    expect(security.APP_CSP).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(security.APP_CSP).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/); // the time-stretch worklet's WASM only
    expect(security.APP_CSP).not.toMatch(/https?:/);
    expect(security.APP_CSP).toContain('media-src demix-media:');
  });

  it('accepts a dev renderer URL only when unpackaged and on loopback', () => {
    const old = process.env.DEMIX_RENDERER_URL;
    try {
      process.env.DEMIX_RENDERER_URL = 'http://localhost:5173/';
      expect(security.isAppUrl('http://localhost:5173/index.html')).toBe(true);
      electronMock.app.isPackaged = true;
      expect(security.isAppUrl('http://localhost:5173/index.html')).toBe(false);
      electronMock.app.isPackaged = false;
      process.env.DEMIX_RENDERER_URL = 'http://evil.example:5173/';
      expect(security.devRendererUrl()).toBeNull();
    } finally {
      electronMock.app.isPackaged = false;
      if (old === undefined) delete process.env.DEMIX_RENDERER_URL;
      else process.env.DEMIX_RENDERER_URL = old;
    }
  });
});

describe('protocols', () => {
  it('registers handlers for both schemes on the session', () => {
    const handled: string[] = [];
    registerProtocols({ protocol: { handle: (s: string) => handled.push(s) } } as never, { core, rendererDir: ui });
    expect(handled).toEqual(['demix-app', 'demix-media']);
  });

  it('demix-app serves the renderer with the CSP on pages and an SPA fallback', async () => {
    const page = await appResponse(ui, new Request('demix-app://app/index.html'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(security.APP_CSP);
    expect(await page.text()).toContain('<title>Demix</title>');
    const js = await appResponse(ui, new Request('demix-app://app/assets/index.js'));
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toBeNull();
    expect((await appResponse(ui, new Request('demix-app://app/settings'))).status).toBe(200);
    expect((await appResponse(ui, new Request('demix-app://app/%2e%2e/secret.txt'))).status).toBe(404);
    expect((await appResponse(ui, new Request('demix-app://other/index.html'))).status).toBe(404);
    expect((await appResponse(path.join(root, 'none'), new Request('demix-app://app/'))).status).toBe(503);
  });

  it('demix-media streams owned files with Range and refuses the rest', async () => {
    const whole = await mediaResponse(core, new Request('demix-media://job/j1/drums'));
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/flac');
    expect(whole.headers.get('access-control-allow-origin')).toBe('demix-app://app');
    expect(Buffer.from(await whole.arrayBuffer()).equals(audio)).toBe(true);

    const part = await mediaResponse(core, new Request('demix-media://job/j1/drums', { headers: { Range: 'bytes=-100' } }));
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 2900-2999/3000');
    expect(Buffer.from(await part.arrayBuffer()).equals(audio.subarray(2900))).toBe(true);

    expect((await mediaResponse(core, new Request('demix-media://job/j1/drums', { headers: { Range: 'bytes=3000-' } }))).status).toBe(416);
    expect((await mediaResponse(core, new Request('demix-media://job/j1/link'))).status).toBe(404);
    expect((await mediaResponse(core, new Request('demix-media://job/j1/%2e%2e%2f%2e%2e%2fsecret.txt'))).status).toBe(404);
    expect((await mediaResponse(core, new Request('demix-media://job/nope/drums'))).status).toBe(404);
    expect((await mediaResponse(core, new Request('demix-media://other/j1/drums'))).status).toBe(404);
  });
});

describe('menu', () => {
  it('has Open Files/Folder with accelerators and the usual roles', () => {
    const actions = { openFiles: vi.fn(), openFolder: vi.fn(), showDataFolder: vi.fn() };
    const mac = menuTemplate(actions, { platform: 'darwin', appName: 'Demix', devTools: false });
    expect(mac[0]).toMatchObject({ role: 'appMenu' });
    const roles = mac.map((m) => m.role ?? m.label);
    expect(roles).toEqual(['appMenu', 'File', 'editMenu', 'View', 'windowMenu', 'help']);
    const file = mac[1].submenu as { id?: string; accelerator?: string; click?: () => void }[];
    const open = file.find((i) => i.id === 'open-files')!;
    expect(open.accelerator).toBe('CmdOrCtrl+O');
    open.click!();
    file.find((i) => i.id === 'open-folder')!.click!();
    expect(actions.openFiles).toHaveBeenCalledTimes(1);
    expect(actions.openFolder).toHaveBeenCalledTimes(1);
    const win = menuTemplate(actions, { platform: 'win32', appName: 'Demix', devTools: true });
    expect(win[0]).toMatchObject({ label: 'File' });
    expect(JSON.stringify(win)).toContain('toggleDevTools');
    expect(JSON.stringify(mac)).not.toContain('toggleDevTools');
  });
});

describe('queue feedback', () => {
  const qs = (p: Partial<QueueState>): QueueState => ({ paused: false, queued: 0, running: 0, workers: 1, overallProgress: null, ...p });
  const batch = (p: Partial<Batch>): Batch => ({ id: 'b1', sourceFolder: '/music/Album', outputDir: '/out', total: 3, done: 0, failed: 0, canceled: 0, skipped: 0, createdAt: 0, ...p });

  it('shows progress and a badge while busy, clears them when idle', () => {
    const sink = { progress: vi.fn(), badge: vi.fn(), notify: vi.fn() };
    const fb = createFeedback(sink);
    fb.queueState(qs({ queued: 2, running: 1, overallProgress: 0.25 }));
    fb.queueState(qs({ queued: 2, running: 1, overallProgress: 0.3, paused: true }));
    fb.queueState(qs({}));
    expect(sink.progress.mock.calls).toEqual([[0.25, false], [0.3, true], [null, false]]);
    expect(sink.badge.mock.calls).toEqual([[3], [3], [0]]);
  });

  it('notifies once when a batch finishes, again only after it reopens', () => {
    const sink = { progress: vi.fn(), badge: vi.fn(), notify: vi.fn() };
    const fb = createFeedback(sink);
    fb.batch(batch({ done: 1 }));
    fb.batch(batch({ done: 2, failed: 1 }));
    fb.batch(batch({ done: 2, failed: 1 }));
    expect(sink.notify.mock.calls).toEqual([['Demix: “Album” finished', '2 of 3 songs separated, 1 failed.']]);
    fb.batch(batch({ done: 2 }));
    fb.batch(batch({ done: 3 }));
    expect(sink.notify).toHaveBeenCalledTimes(2);
  });

  it('a batch whose last job was canceled counts as finished', () => {
    const sink = { progress: vi.fn(), badge: vi.fn(), notify: vi.fn() };
    const fb = createFeedback(sink);
    fb.batch(batch({ done: 2, canceled: 1 }));
    expect(sink.notify.mock.calls).toEqual([['Demix: “Album” finished', '2 of 3 songs separated, 1 canceled.']]);
  });

  it('notifies when single songs finish and the queue drains', () => {
    const sink = { progress: vi.fn(), badge: vi.fn(), notify: vi.fn() };
    const fb = createFeedback(sink);
    fb.queueState(qs({ running: 1 }));
    fb.job(makeJob({ inputPath: '/a.wav', status: 'done' }));
    fb.job(makeJob({ inputPath: '/b.wav', status: 'done', batchId: 'b1' }));
    fb.queueState(qs({}));
    expect(sink.notify.mock.calls).toEqual([['Demix: separation finished', 'Your song is ready.']]);
    fb.queueState(qs({}));
    expect(sink.notify).toHaveBeenCalledTimes(1);
  });

  it('drives the window progress bar and system notifications (not while focused)', () => {
    const win = new FakeBrowserWindow();
    const off = attachFeedback(core, () => win as never);
    core.emit('queue-state', qs({ running: 1, overallProgress: 0.5 }));
    expect(win.progress.at(-1)).toEqual([0.5, { mode: 'normal' }]);
    core.emit('batch-updated', batch({ id: 'bx', done: 3 }));
    expect(notifications.at(-1)).toEqual({ title: 'Demix: “Album” finished', body: '3 of 3 songs separated.' });
    win.focused = true;
    const before = notifications.length;
    core.emit('batch-updated', batch({ id: 'by', done: 3 }));
    expect(notifications.length).toBe(before);
    core.emit('queue-state', qs({}));
    expect(win.progress.at(-1)).toEqual([-1, { mode: 'normal' }]);
    off();
  });
});

describe('argv', () => {
  it('keeps existing paths, resolves relative ones, skips switches and the executable', () => {
    writeFileSync(path.join(root, 'song.mp3'), 'x');
    const argv = ['/opt/Demix/demix', '--no-sandbox', 'song.mp3', '-psn_0_1234', path.join(root, 'missing.wav'), root, 'song.mp3'];
    expect(pathsFromArgv(argv, root, { skip: argvSkip(true) })).toEqual([path.join(root, 'song.mp3'), root]);
    expect(pathsFromArgv(['electron', '.', 'song.mp3'], root, { skip: argvSkip(false) })).toEqual([path.join(root, 'song.mp3')]);
    expect(pathsFromArgv(['demix', '--', '-odd.wav'], root, { skip: 1 })).toEqual([]);
  });
});

