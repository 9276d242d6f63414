// @vitest-environment happy-dom
/** The mixdown dialog sends the player's practice tempo and pitch (issue 13), or the original on request. */
import { act } from 'react';
import { describe, expect, it } from 'vitest';
import { usePractice } from '../player/practice-store.ts';
import { finishJob } from '../testing/fake-api.ts';
import { fakeApp, renderHarness } from '../testing/render-app.test-support.tsx';
import { ExportDialog, practiceLabel } from './ExportDialog.tsx';

const render = renderHarness(() => usePractice.getState().reset());

async function open() {
  const app = fakeApp();
  const { api } = app;
  await api.invoke('jobs:add-files', { paths: ['/m/song.flac'] });
  const job = finishJob(api, [...api.jobs.keys()][0], ['vocals', 'no_vocals']);
  const { el } = await render(<ExportDialog job={job} onClose={() => {}} />, app);
  const exportCall = async () => {
    await act(async () => {
      (el.querySelector('button[type=submit]') as HTMLButtonElement).click();
    });
    const calls = api.calls.filter((c) => c.channel === 'mixdown:export');
    return calls[calls.length - 1].request as Record<string, unknown>;
  };
  return { el, exportCall };
}

describe('ExportDialog and the practice settings', () => {
  it('exports at the player’s tempo and pitch, shown in the dialog; unticked, at the original', async () => {
    usePractice.getState().setTempo(80);
    usePractice.getState().setSemitones(-2);
    usePractice.getState().setCents(30);
    const { el, exportCall } = await open();
    expect(el.textContent).toContain('80\u00a0%, \u22122\u00a0st +30\u00a0c');
    expect(await exportCall()).toMatchObject({ stems: ['no_vocals'], tempo: 80, pitch: -1.7 });
    expect(el.querySelector('.export-name')?.textContent).toBe('mixdown-no_vocals 80% -1.7st.wav');

    const box = [...el.querySelectorAll('label.check')].find((l) => l.textContent?.includes('tempo and pitch'))!.querySelector('input')!;
    await act(async () => box.click());
    const plain = await exportCall();
    expect(plain.tempo).toBeUndefined();
    expect(plain.pitch).toBeUndefined();
  });

  it('at 100 % and no transposition: no practice option, no tempo or pitch sent', async () => {
    const { el, exportCall } = await open();
    expect(el.textContent).not.toContain('tempo and pitch');
    const req = await exportCall();
    expect(req.tempo).toBeUndefined();
    expect(req.pitch).toBeUndefined();
  });

  it('labels', () => {
    expect(practiceLabel(75, 0, 0)).toBe('75\u00a0%');
    expect(practiceLabel(100, 3, 0)).toBe('100\u00a0%, +3\u00a0st');
    expect(practiceLabel(90, 0, -20)).toBe('90\u00a0%, \u221220\u00a0c');
  });
});
