// The Electron preload with `electron` mocked: what the page gets as window.demix.
import vm from 'node:vm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTRACT_VERSION, DRAG_CHANNEL, DemixRemoteError, EVENT_CHANNEL, INVOKE_CHANNEL, type DemixApi } from './contract.ts';
// eslint-disable-next-line no-restricted-imports -- the shared electron test double
import { contextBridge, electronMock, ipcRenderer } from '../main/electron/electron-mock.ts';

vi.mock('electron', async () => (await import('../main/electron/electron-mock.ts')).electronMock);

let api: DemixApi;
let preload: typeof import('./index.ts');

/** Runs the main-world installer the way Electron does: serialised, in another global scope. */
function runInMainWorld(): DemixApi {
  const { func, args } = contextBridge.executed[0];
  const world = vm.createContext({});
  vm.runInContext(`(${func.toString()})(raw)`, Object.assign(world, { raw: args[0] }));
  return (world as { demix: DemixApi }).demix;
}

beforeAll(async () => {
  preload = await import('./index.ts');
  api = runInMainWorld();
});

describe('preload', () => {
  it('exposes nothing but window.demix, through executeInMainWorld', () => {
    expect(contextBridge.executed).toHaveLength(1);
    expect(contextBridge.exposeInMainWorld).not.toHaveBeenCalled();
    expect(Object.keys(api).sort()).toEqual(['contractVersion', 'host', 'invoke', 'mediaUrl', 'on', 'pathForFile', 'startDrag']);
    expect(api.host).toBe('electron');
    expect(api.contractVersion).toBe(CONTRACT_VERSION);
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('invokes over the single invoke channel and unwraps values', async () => {
    ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: { paused: true } });
    expect(await api.invoke('queue:pause', {})).toEqual({ paused: true });
    expect(ipcRenderer.invoke).toHaveBeenLastCalledWith(INVOKE_CHANNEL, 'queue:pause', {});
  });

  it('turns error envelopes into errors that keep their code and pass instanceof DemixRemoteError', async () => {
    ipcRenderer.invoke.mockResolvedValueOnce({ ok: false, error: { code: 'CONFLICT', message: 'Cannot cancel a done job.' } });
    const err = await api.invoke('jobs:cancel', { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DemixRemoteError);
    expect(err).toMatchObject({ code: 'CONFLICT', message: 'Cannot cancel a done job.', name: 'DemixRemoteError' });

    ipcRenderer.invoke.mockRejectedValueOnce(new Error('Error invoking remote method: boom'));
    await expect(api.invoke('settings:get', {})).rejects.toMatchObject({ code: 'INTERNAL' });
    ipcRenderer.invoke.mockResolvedValueOnce(undefined);
    await expect(api.invoke('settings:get', {})).rejects.toMatchObject({ code: 'INTERNAL', message: 'settings:get: no answer from the main process.' });
  });

  it('delivers events from the event channel to subscribers only, until unsubscribed', () => {
    const got: unknown[] = [];
    const off = api.on('job-removed', (p) => got.push(p));
    ipcRenderer.emit(EVENT_CHANNEL, {}, { event: 'job-removed', payload: { id: 'a' } });
    ipcRenderer.emit(EVENT_CHANNEL, {}, { event: 'queue-state', payload: {} });
    ipcRenderer.emit(EVENT_CHANNEL, {}, { event: 'not-an-event', payload: {} });
    off();
    ipcRenderer.emit(EVENT_CHANNEL, {}, { event: 'job-removed', payload: { id: 'b' } });
    expect(got).toEqual([{ id: 'a' }]);
  });

  it('media URLs, dropped-file paths and drag-out', () => {
    expect(api.mediaUrl('j 1', 'vocals')).toBe('demix-media://job/j%201/vocals');
    expect(api.pathForFile({ path: '/music/a.mp3' } as unknown as File)).toBe('/music/a.mp3');
    expect(api.pathForFile({} as File)).toBeNull();
    api.startDrag('j1', 'drums');
    expect(ipcRenderer.sendCalls.at(-1)).toEqual([DRAG_CHANNEL, { jobId: 'j1', stem: 'drums' }]);
  });

  it('falls back to exposeInMainWorld (codes kept by wrapRawApi) where executeInMainWorld is missing', async () => {
    const saved = contextBridge.executeInMainWorld;
    contextBridge.executeInMainWorld = undefined;
    try {
      preload.exposeDemix();
      const fallback = contextBridge.exposed.get('demix') as DemixApi;
      ipcRenderer.invoke.mockResolvedValueOnce({ ok: false, error: { code: 'NOT_FOUND', message: 'No job.' } });
      await expect(fallback.invoke('jobs:get', { id: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      contextBridge.executeInMainWorld = saved;
    }
    expect(electronMock.webUtils.getPathForFile).toHaveBeenCalled();
  });
});
