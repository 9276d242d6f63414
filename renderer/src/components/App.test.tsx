// @vitest-environment happy-dom
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { finishJob } from '../testing/fake-api.ts';
import { renderHarness } from '../testing/render-app.test-support.tsx';
import { App } from './App.tsx';

const render = renderHarness();

const mount = () => render(<App />);

const byLabel = (el: HTMLElement, label: string) => el.querySelector(`[aria-label="${label}"]`) as HTMLElement | null;

describe('App (rendered with the fake API)', () => {
  it('shows the empty state, then a job row that follows pushed events', async () => {
    const { api, el } = await mount();
    expect(el.textContent).toContain('Drop songs or folders here');

    await act(async () => {
      await api.invoke('jobs:add-files', { paths: ['/m/song.flac'] });
      api.emit('job-updated', [...api.jobs.values()][0]);
    });
    const row = byLabel(el, 'song.flac')!;
    expect(row.dataset.status).toBe('queued');
    expect(row.textContent).toContain('Waiting');

    const id = [...api.jobs.keys()][0];
    await act(async () => {
      api.patchJob(id, { status: 'running', progress: 0.42, etaSec: 5, provider: 'cpu', startedAt: Date.now() });
    });
    expect(row.dataset.status).toBe('running');
    expect(row.textContent).toContain('Separating 42%');
    expect(row.textContent).toContain('5 s left');
    expect(row.textContent).toContain('on CPU');
    expect(row.querySelector('[role=progressbar]')?.getAttribute('aria-valuenow')).toBe('42');

    await act(async () => {
      api.patchJob(id, { status: 'failed', error: { code: 'DECODE_FAILED', message: 'The file is damaged: re-export it and add it again.' }, finishedAt: Date.now() });
    });
    expect(row.textContent).toContain('The file is damaged: re-export it and add it again.');
    expect(byLabel(el, 'Retry song.flac')).not.toBeNull();
    expect(byLabel(el, 'Cancel song.flac')).toBeNull();
  });

  it('offers the stem player only for finished jobs and opens it', async () => {
    const { api, el, store } = await mount();
    await act(async () => {
      await store.getState().addPaths(['/m/a.flac']);
    });
    const id = [...api.jobs.keys()][0];
    expect(byLabel(el, 'Open stems of a.flac')).toBeNull();
    await act(async () => {
      finishJob(api, id);
    });
    const open = byLabel(el, 'Open stems of a.flac')!;
    expect(open).not.toBeNull();
    await act(async () => open.click());
    expect(store.getState().view).toEqual({ name: 'player', jobId: id });
  });

  it('pauses and resumes the whole queue from the top bar', async () => {
    const { api, el } = await mount();
    await act(async () => byLabel(el, 'Pause all')!.click());
    expect(api.paused).toBe(true);
    expect(byLabel(el, 'Resume all')).not.toBeNull();
    await act(async () => byLabel(el, 'Resume all')!.click());
    expect(api.paused).toBe(false);
  });
});
