import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONTRACT_VERSION, DRAG_CHANNEL, EVENT_CHANNEL, INVOKE_CHANNEL, channelNames, type Channel } from '../../preload/contract.ts';
import { createFakeCore, makeJob, type FakeCore } from '../../testing/fake-core.ts';
import { AUDIO_EXTENSIONS } from '../../engine/audio-files.ts';
import { createHandlers } from '../handlers.ts';
import { FakeBrowserWindow, FakeWebContents, electronMock, ipcMain } from './electron-mock.ts';

vi.mock('electron', async () => (await import('./electron-mock.ts')).electronMock);

const { forwardEvents, registerIpc } = await import('./ipc.ts');
const { electronHost, startStemDrag } = await import('./native.ts');

let root: string;
let core: FakeCore;
let win: FakeBrowserWindow;
let dispose: () => void;
const drags: [string, string][] = [];
const logs: string[] = [];

const eventFrom = (sender: FakeWebContents, frame: { url: string; parent: unknown } | null) => ({ sender, senderFrame: frame });
const trusted = () => eventFrom(win.webContents, { url: 'demix-app://app/index.html', parent: null });
const invoke = (event: unknown, channel: unknown, payload: unknown) => ipcMain.invoke(event, INVOKE_CHANNEL, channel, payload) as Promise<{ ok: boolean; value?: { jobs: { id: string }[] } & Record<string, unknown>; error?: { code: string; message: string } }>;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'demix-ipc-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
  core = createFakeCore({ dataDir: root });
  win = new FakeBrowserWindow();
  const handlers = createHandlers(core, electronHost({ appVersion: '3.0.0', getWindow: () => win as never }));
  dispose = registerIpc({
    handlers,
    getWindow: () => win as never,
    onDrag: (_e, jobId, stem) => void drags.push([jobId, stem]),
    log: (m) => logs.push(m),
    checkResponse: true,
  });
  drags.length = 0;
  logs.length = 0;
});
afterEach(() => dispose());

describe('registerIpc', () => {
  it('registers ONE invoke handler and removes it on dispose', () => {
    expect([...ipcMain.handlers.keys()]).toEqual([INVOKE_CHANNEL]);
    expect(ipcMain.listenerCount(DRAG_CHANNEL)).toBe(1);
    dispose();
    expect(ipcMain.handlers.size).toBe(0);
    expect(ipcMain.listenerCount(DRAG_CHANNEL)).toBe(0);
    dispose = registerIpc({ handlers: createHandlers(core, { kind: 'electron', appVersion: '1' }), getWindow: () => win as never });
  });

  it('a valid payload from our window reaches the service', async () => {
    const res = await invoke(trusted(), 'jobs:add-files', { paths: ['/music/song.flac'], options: { twoStems: 'vocals' } });
    expect(res.ok).toBe(true);
    expect(res.value!.jobs[0]).toMatchObject({ name: 'song', status: 'queued' });
    expect(core.calls).toEqual([['addPaths', ['/music/song.flac'], { twoStems: 'vocals' }]]);
    expect(await invoke(trusted(), 'app:hello', { contractVersion: CONTRACT_VERSION })).toEqual({
      ok: true,
      value: { contractVersion: CONTRACT_VERSION, appVersion: '3.0.0', host: 'electron' },
    });
  });

  it('an invalid payload is rejected with the schema message and never reaches the service', async () => {
    const res = await invoke(trusted(), 'jobs:reorder', { id: 'a', beforeId: 5 });
    expect(res).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^jobs:reorder: beforeId: /) } });
    const res2 = await invoke(trusted(), 'mixdown:export', { id: 'a', stems: [], format: 'ogg' });
    expect(res2.error?.code).toBe('BAD_REQUEST');
    expect(res2.error?.message).toMatch(/stems/);
    expect(res2.error?.message).toMatch(/format/);
    expect((await invoke(trusted(), 'fs:read', { path: '/etc/passwd' })).error?.code).toBe('UNKNOWN_CHANNEL');
    expect(core.calls).toEqual([]);
  });

  it('wrong senders are rejected: another webContents, a subframe, a foreign URL, no frame', async () => {
    const other = new FakeWebContents();
    const cases = [
      eventFrom(other, { url: 'demix-app://app/index.html', parent: null }),
      eventFrom(win.webContents, { url: 'demix-app://app/index.html', parent: {} }),
      eventFrom(win.webContents, { url: 'https://evil.example/', parent: null }),
      eventFrom(win.webContents, { url: 'file:///tmp/x.html', parent: null }),
      eventFrom(win.webContents, { url: 'demix-app://app.evil/index.html', parent: null }),
      eventFrom(win.webContents, null),
    ];
    for (const ev of cases) {
      const res = await invoke(ev, 'settings:set', { format: 'mp3' });
      expect(res).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: expect.any(String) } });
    }
    expect(core.calls).toEqual([]);
    expect(logs).toHaveLength(cases.length);

    win.destroyed = true;
    expect((await invoke(trusted(), 'settings:get', {})).error?.code).toBe('FORBIDDEN');
  });

  it('every contract channel is reachable through the single IPC handler', async () => {
    const added = await invoke(trusted(), 'jobs:add-files', { paths: ['/a.wav'] });
    const id = added.value!.jobs[0].id;
    core.seedDoneJob({ inputPath: path.join(root, 'in.wav'), outputDir: root, stems: { vocals: path.join(root, 'vocals.wav') } });
    const samples: Record<Channel, unknown> = {
      'app:hello': { contractVersion: CONTRACT_VERSION },
      'jobs:add-files': { paths: ['/b.wav'] },
      'jobs:add-folder': { path: '/music' },
      'jobs:add-upload': { uploadId: 'upload-0001' },
      'jobs:list': {},
      'jobs:get': { id },
      'jobs:cancel': { id },
      'jobs:retry': { id },
      'jobs:remove': { id: 'missing' },
      'jobs:reorder': { id, beforeId: null },
      'jobs:peaks': { id, stem: 'drums' },
      'jobs:stream-info': { id },
      'jobs:preview': { id },
      'queue:pause': {},
      'queue:resume': {},
      'queue:state': {},
      'settings:get': {},
      'settings:set': { concurrency: 2 },
      'mixdown:export': { id, stems: ['vocals'], format: 'flac' },
      'shell:reveal': { path: root },
      'dialog:open-files': { folders: false },
      'diagnostics:get': {},
    };
    const codes: Record<string, string> = {};
    for (const ch of channelNames) {
      const res = await invoke(trusted(), ch, samples[ch]);
      codes[ch] = res.ok ? 'ok' : res.error!.code;
    }
    expect(codes).toEqual({ ...Object.fromEntries(channelNames.map((c) => [c, 'ok'])), 'jobs:remove': 'NOT_FOUND' });
    expect(electronMock.shell.showItemInFolder).toHaveBeenCalledWith(root);
    expect(electronMock.dialog.showOpenDialog).toHaveBeenCalled();
    // The dialog's audio filter is the scan's list of audio extensions (one list, not two).
    const dialogOpts = (electronMock.dialog.showOpenDialog.mock.calls.at(-1) as unknown[]).at(-1) as { filters?: { name: string; extensions: string[] }[] };
    expect(dialogOpts.filters?.find((f) => f.name === 'Audio')?.extensions.sort()).toEqual([...AUDIO_EXTENSIONS].sort());
    const missing = await invoke(trusted(), 'shell:reveal', { path: path.join(root, 'gone.wav') });
    expect(missing.error?.code).toBe('NOT_FOUND');
    // Like media, reveal is confined to a job's own files and folders.
    electronMock.shell.showItemInFolder.mockClear();
    const foreign = await invoke(trusted(), 'shell:reveal', { path: '/etc/passwd' });
    expect(foreign.error).toEqual({ code: 'NOT_FOUND', message: expect.stringMatching(/not a file or folder of any job/) });
    expect(electronMock.shell.showItemInFolder).not.toHaveBeenCalled();
  });

  it('drag requests are honoured only from our window and with string ids', () => {
    ipcMain.emit(DRAG_CHANNEL, trusted(), { jobId: 'j1', stem: 'vocals' });
    ipcMain.emit(DRAG_CHANNEL, eventFrom(new FakeWebContents(), { url: 'demix-app://app/', parent: null }), { jobId: 'j1', stem: 'bass' });
    ipcMain.emit(DRAG_CHANNEL, trusted(), { jobId: 1, stem: 'bass' });
    ipcMain.emit(DRAG_CHANNEL, trusted(), null);
    expect(drags).toEqual([['j1', 'vocals']]);
  });
});

describe('forwardEvents', () => {
  it('sends every contract event to the window on EVENT_CHANNEL, and stops when disposed', () => {
    const off = forwardEvents(core, () => win as never);
    const job = makeJob({ inputPath: '/x.wav' });
    core.emit('job-updated', job);
    core.emit('job-removed', { id: job.id });
    expect(win.webContents.sent).toEqual([
      [EVENT_CHANNEL, { event: 'job-updated', payload: job }],
      [EVENT_CHANNEL, { event: 'job-removed', payload: { id: job.id } }],
    ]);
    win.destroyed = true;
    core.emit('job-removed', { id: 'z' });
    expect(win.webContents.sent).toHaveLength(2);
    off();
    expect(core.listenerCount()).toBe(0);
  });
});

describe('startStemDrag', () => {
  it('drags only files the job owns', async () => {
    const out = path.join(root, 'drag-out');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'vocals.wav'), 'x');
    writeFileSync(path.join(root, 'other.wav'), 'x');
    core.seedDoneJob({ id: 'd1', inputPath: path.join(root, 'in.wav'), outputDir: out, stems: { vocals: path.join(out, 'vocals.wav'), bad: path.join(root, 'other.wav') } });
    const sender = new FakeWebContents();
    await startStemDrag(core, { sender } as never, 'd1', 'vocals');
    await startStemDrag(core, { sender } as never, 'd1', 'bad');
    await startStemDrag(core, { sender } as never, 'd1', '../other.wav');
    expect(sender.drags).toHaveLength(1);
    expect(sender.drags[0]).toMatchObject({ file: path.join(out, 'vocals.wav') });
    expect((sender.drags[0] as { icon: { isEmpty(): boolean } }).icon.isEmpty()).toBe(false);
  });
});
