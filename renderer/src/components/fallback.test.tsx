// @vitest-environment happy-dom
/** The GPU fallback reason reaches the user: the queue row and the Diagnostics report. */
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Diagnostics } from '../../../preload/contract.ts';
import { AppProvider } from '../context.tsx';
import { createDemixStore } from '../state/store.ts';
import { createFakeApi } from '../testing/fake-api.ts';
import { App } from './App.tsx';
import { diagnosticsReport } from './DiagnosticsView.tsx';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let root: Root | null = null;
afterEach(() => {
  act(() => root?.unmount());
  root = null;
  document.body.innerHTML = '';
});

const REASON = 'using cpu because cuda: not available in this build/machine';

describe('fallback reason in the UI', () => {
  it('the queue row of a job that fell back says so, with the reason', async () => {
    const api = createFakeApi();
    const store = createDemixStore(api, { setTimeout: () => 0 });
    const el = document.createElement('div');
    document.body.appendChild(el);
    root = createRoot(el);
    await act(async () => {
      root!.render(
        <AppProvider value={{ api, store, appVersion: 'test', mock: false }}>
          <App />
        </AppProvider>,
      );
    });
    await act(async () => {
      await api.invoke('jobs:add-files', { paths: ['/m/song.flac'] });
      api.emit('job-updated', [...api.jobs.values()][0]);
    });
    const id = [...api.jobs.keys()][0];
    await act(async () => {
      api.patchJob(id, { status: 'running', progress: 0.1, etaSec: 5, provider: 'cpu', fallbackReason: REASON, startedAt: Date.now() });
    });
    const row = el.querySelector('[aria-label="song.flac"]') as HTMLElement;
    expect(row.textContent).toContain('on CPU');
    expect(row.textContent).toContain(`fallback: ${REASON}`);
  });

  it('the Diagnostics report lists the fallback reasons', () => {
    const d: Diagnostics = {
      appVersion: '1',
      contractVersion: 1,
      host: 'web',
      platform: 'linux',
      arch: 'x64',
      nodeVersion: 'v20',
      electronVersion: null,
      ffmpeg: { path: '/usr/bin/ffmpeg', source: 'PATH', version: null, error: null },
      models: [],
      providers: { available: ['cpu'], inUse: ['cpu'], fallbackReasons: [REASON] },
      databasePath: '/d/demix.db',
      dataDir: '/d',
    };
    expect(diagnosticsReport(d)).toContain(`fallback: ${REASON}`);
  });
});
