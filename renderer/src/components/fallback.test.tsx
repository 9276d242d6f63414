// @vitest-environment happy-dom
/** The GPU fallback reason reaches the user: the queue row and the Diagnostics report. */
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import type { Diagnostics } from '../../../preload/contract.ts';
import { renderHarness } from '../testing/render-app.test-support.tsx';
import { App } from './App.tsx';
import { diagnosticsReport } from './DiagnosticsView.tsx';

const render = renderHarness();

const REASON = 'using cpu because cuda: not available in this build/machine';

describe('fallback reason in the UI', () => {
  it('the queue row of a job that fell back says so, with the reason', async () => {
    const { api, el } = await render(<App />);
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
