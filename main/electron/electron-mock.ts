/**
 * TEST DOUBLE for the `electron` module (no Electron binary runs here). Tests use it as
 *   vi.mock('electron', async () => (await import('./electron-mock.ts')).electronMock);
 * It records what the code under test registers so the tests can drive it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { vi } from 'vitest';

type Listener = (...args: unknown[]) => unknown;

export class FakeIpcMain extends EventEmitter {
  handlers = new Map<string, Listener>();
  handle(channel: string, fn: Listener) {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, fn);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  /** Simulates ipcRenderer.invoke from a given sender. */
  async invoke(event: unknown, channel: string, ...args: unknown[]) {
    const fn = this.handlers.get(channel);
    if (!fn) throw new Error(`No handler registered for '${channel}'`);
    return fn(event, ...args);
  }
}

export class FakeWebContents extends EventEmitter {
  static nextId = 1;
  id = FakeWebContents.nextId++;
  destroyed = false;
  sent: unknown[][] = [];
  drags: unknown[] = [];
  windowOpenHandler: ((d: { url: string }) => { action: string }) | null = null;
  type = 'window';
  isDestroyed() {
    return this.destroyed;
  }
  send(channel: string, ...args: unknown[]) {
    this.sent.push([channel, ...args]);
  }
  startDrag(item: unknown) {
    this.drags.push(item);
  }
  setWindowOpenHandler(fn: (d: { url: string }) => { action: string }) {
    this.windowOpenHandler = fn;
  }
  getType() {
    return this.type;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static created: FakeBrowserWindow[] = [];
  webContents = new FakeWebContents();
  destroyed = false;
  focused = false;
  progress: unknown[][] = [];
  loadedUrl: string | null = null;
  constructor(readonly options: Record<string, unknown> = {}) {
    super();
    FakeBrowserWindow.created.push(this);
  }
  isDestroyed() {
    return this.destroyed;
  }
  isFocused() {
    return this.focused;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  focus() {}
  show() {}
  setProgressBar(...args: unknown[]) {
    this.progress.push(args);
  }
  async loadURL(url: string) {
    this.loadedUrl = url;
  }
}

export const notifications: { title: string; body: string }[] = [];
export class FakeNotification extends EventEmitter {
  static isSupported = () => true;
  constructor(readonly opts: { title: string; body: string }) {
    super();
  }
  show() {
    notifications.push(this.opts);
  }
}

export const contextBridge = {
  exposed: new Map<string, unknown>(),
  executed: [] as { func: (...a: unknown[]) => unknown; args: unknown[] }[],
  exposeInMainWorld: vi.fn((key: string, api: unknown) => void contextBridge.exposed.set(key, api)),
  executeInMainWorld: vi.fn((script: { func: (...a: unknown[]) => unknown; args?: unknown[] }) => {
    contextBridge.executed.push({ func: script.func, args: script.args ?? [] });
  }) as ((script: { func: (...a: unknown[]) => unknown; args?: unknown[] }) => void) | undefined,
};

export class FakeIpcRenderer extends EventEmitter {
  invoke = vi.fn(async (..._args: unknown[]): Promise<unknown> => ({ ok: true, value: null }));
  sendCalls: unknown[][] = [];
  send(channel: string, ...args: unknown[]) {
    this.sendCalls.push([channel, ...args]);
  }
}

/**
 * utilityProcess.fork: a real Node child (child_process.fork) whose script sees the
 * `process.parentPort` of an Electron utility process (testing/utility-parent-port.test-double.mjs).
 * Events and methods as Electron's: 'spawn', 'message' (the value), 'exit' (code), postMessage, kill.
 */
export class FakeUtilityProcess extends EventEmitter {
  static forks: { modulePath: string; args: string[]; options: Record<string, unknown> }[] = [];
  readonly child: ChildProcess;
  pid: number | undefined;
  constructor(modulePath: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv } = {}) {
    super();
    FakeUtilityProcess.forks.push({ modulePath, args, options });
    const preload = pathToFileURL(fileURLToPath(new URL('../../testing/utility-parent-port.test-double.mjs', import.meta.url))).href;
    this.child = fork(modulePath, args, { execArgv: ['--import', preload], env: options.env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.pid = this.child.pid;
    this.child.once('spawn', () => this.emit('spawn'));
    this.child.on('message', (m: { __utility?: unknown }) => this.emit('message', m.__utility));
    this.child.once('exit', (code, signal) => this.emit('exit', code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
  }
  postMessage(m: unknown) {
    this.child.send(m as object);
  }
  /** As Electron's: SIGTERM on POSIX. */
  kill() {
    return this.child.kill('SIGTERM');
  }
}

export const ipcMain = new FakeIpcMain();
export const ipcRenderer = new FakeIpcRenderer();

export const electronMock = {
  ipcMain,
  ipcRenderer,
  contextBridge,
  webUtils: { getPathForFile: vi.fn((f: { path?: string }) => f.path ?? '') },
  BrowserWindow: FakeBrowserWindow,
  Notification: FakeNotification,
  app: {
    isPackaged: false,
    setBadgeCount: vi.fn(),
    getVersion: () => '0.0.0-test',
    getName: () => 'Demix',
  },
  shell: { showItemInFolder: vi.fn(), openExternal: vi.fn(async () => {}), openPath: vi.fn(async () => '') },
  dialog: { showOpenDialog: vi.fn(async () => ({ canceled: false, filePaths: ['/music/a.mp3'] })), showErrorBox: vi.fn() },
  nativeImage: {
    createFromPath: vi.fn(() => ({ isEmpty: () => true, resize: () => ({}) })),
    createFromDataURL: vi.fn((url: string) => ({ dataUrl: url, isEmpty: () => false })),
  },
  protocol: { registerSchemesAsPrivileged: vi.fn() },
  Menu: { buildFromTemplate: vi.fn((t: unknown) => ({ template: t })), setApplicationMenu: vi.fn() },
  session: { defaultSession: {} },
  utilityProcess: { fork: (modulePath: string, args?: string[], options?: Record<string, unknown>) => new FakeUtilityProcess(modulePath, args, options) },
};
export default electronMock;
