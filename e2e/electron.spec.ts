/* eslint-disable @typescript-eslint/no-explicit-any -- page.evaluate bodies run in the page */
// The desktop app end to end with Playwright's Electron driver. Runs when an Electron binary is
// installed (`node node_modules/electron/install.js`) and the app is built (`npm run build`);
// otherwise it is skipped with the reason. The browser specs cover the same UI through the
// web bridge on machines without Electron.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const mainJs = path.join(root, 'dist', 'electron', 'main.js');

function electronExecutable(): string | null {
  try {
    const exe = require('electron') as unknown as string; // the package exports the binary's path
    return typeof exe === 'string' && existsSync(exe) ? exe : null;
  } catch {
    return null; // "Electron failed to install correctly": only the npm package is present
  }
}

const exe = electronExecutable();
const skipReason = !exe
  ? 'no Electron binary (run `node node_modules/electron/install.js` with network access)'
  : !existsSync(mainJs)
    ? 'the app is not built (run `npm run build`)'
    : !existsSync(path.join(root, 'dist', 'renderer', 'index.html'))
      ? 'the renderer is not built (run `npm run build`)'
      : !existsSync(path.join(root, '.electron-native', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))
        ? 'better-sqlite3 has no Electron build (run `node scripts/electron-native.mjs` with network access)'
        : null;
if (skipReason) console.log(`electron.spec.ts skipped: ${skipReason}`);

test.describe('Electron app', () => {
  test.skip(skipReason !== null, skipReason ?? '');

  let app: ElectronApplication;
  let page: Page;
  let userData: string;

  test.beforeAll(async () => {
    userData = mkdtempSync(path.join(os.tmpdir(), 'demix-e2e-electron-'));
    app = await electron.launch({
      executablePath: exe!,
      args: [root, `--user-data-dir=${userData}`],
      env: {
        ...process.env,
        DEMIX_SQLITE_BINDING: path.join(root, '.electron-native', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
      } as Record<string, string>,
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  test.afterAll(async () => {
    await app?.close();
    rmSync(userData, { recursive: true, force: true });
  });

  test('the window is isolated and sandboxed, and exposes only window.demix', async () => {
    expect(page.url()).toBe('demix-app://app/index.html');
    const shape = await page.evaluate(() => ({
      keys: Object.keys((window as unknown as { demix: object }).demix).sort(),
      host: (window as unknown as { demix: { host: string } }).demix.host,
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(shape).toEqual({
      keys: ['contractVersion', 'host', 'invoke', 'mediaUrl', 'on', 'pathForFile', 'startDrag'],
      host: 'electron',
      require: 'undefined',
      process: 'undefined',
    });
    // A sandboxed renderer has no Node even in the preload's world: the page cannot reach it either.
    const windows = await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().map((w) => w.webContents.getURL()));
    expect(windows).toEqual(['demix-app://app/index.html']);
  });

  test('the contract answers over IPC with typed errors', async () => {
    const hello = await page.evaluate(() => (window as any).demix.invoke('app:hello', { contractVersion: 1 }));
    expect(hello).toMatchObject({ contractVersion: 1, host: 'electron' });
    const err = await page.evaluate(() =>
      (window as any).demix.invoke('jobs:get', { id: '' }).then(
        () => null,
        (e: { code: string; message: string }) => ({ code: e.code, message: e.message }),
      ),
    );
    expect(err).toEqual({ code: 'BAD_REQUEST', message: expect.stringMatching(/^jobs:get: id/) });
  });

  test('navigation away and new windows are refused', async () => {
    await page.evaluate(() => {
      window.open('https://example.com');
      location.href = 'https://example.com';
    });
    await page.waitForTimeout(500);
    expect(app.windows()).toHaveLength(1);
    expect(page.url()).toBe('demix-app://app/index.html');
  });

  test('the package.json main is the bundle that was launched', () => {
    expect(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).main).toBe('dist/electron/main.js');
  });
});
