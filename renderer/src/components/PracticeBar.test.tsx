// @vitest-environment happy-dom
import { act } from 'react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '../../../preload/contract.ts';
import { finishJob } from '../testing/fake-api.ts';
import { fakeApp, renderHarness } from '../testing/render-app.test-support.tsx';
import { usePractice, defaultLoop, practiceMixer } from '../player/practice-store.ts';
import { initialMixer } from '../state/mixer.ts';
import { PracticeBar, loopWithEdge, usePracticeKeys } from './PracticeBar.tsx';

const BEATS = Array.from({ length: 24 }, (_, i) => 0.2 + i * 0.5); // 120 BPM from 0.2 s

const render = renderHarness();
beforeEach(() => {
  usePractice.getState().reset();
  usePractice.setState({ jobId: null });
});

function Keys({ time }: { time: number }) {
  usePracticeKeys({ enabled: true, time: () => time, duration: 12, beats: BEATS });
  return null;
}

async function mount(jobPatch: Partial<Job> = {}, time = 3.3) {
  const app = fakeApp();
  const { api, store } = app;
  await api.invoke('jobs:add-files', { paths: ['/m/song.flac'] });
  const id = [...api.jobs.keys()][0];
  const job = { ...finishJob(api, id), bpm: 120, beats: BEATS, downbeat: 0.2, ...jobPatch };
  store.getState().openMixer(id, ['drums', 'bass', 'other', 'vocals']);
  const seeks: number[] = [];
  const { el } = await render(
    <>
      <PracticeBar job={job} stems={['drums', 'bass', 'other', 'vocals']} duration={12} time={time} stretch="off" onSeek={(t) => seeks.push(t)} />
      <Keys time={time} />
    </>,
    app,
  );
  return { el, store, seeks };
}

const byLabel = (el: HTMLElement, label: string) => el.querySelector(`[aria-label="${label}"]`) as HTMLInputElement | HTMLButtonElement | HTMLSelectElement;
const button = (el: HTMLElement, name: string) => [...el.querySelectorAll('button')].find((b) => b.textContent?.trim() === name)!;

/** Sets a controlled input's value the way a user does (React listens for input/change). */
function setValue(input: HTMLInputElement | HTMLSelectElement, value: string) {
  const proto = input instanceof HTMLSelectElement ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(input, value);
  input.dispatchEvent(new Event(input instanceof HTMLSelectElement ? 'change' : 'input', { bubbles: true }));
}

describe('PracticeBar', () => {
  it('has labelled, keyboard-reachable controls: Loop, Tempo, Pitch, Fine pitch, Count-in, Click, Practice', async () => {
    const { el } = await mount();
    const tempo = byLabel(el, 'Tempo') as HTMLInputElement;
    expect([tempo.type, tempo.min, tempo.max, tempo.value]).toEqual(['range', '50', '150', '100']);
    const pitch = byLabel(el, 'Pitch') as HTMLInputElement;
    expect([pitch.min, pitch.max, pitch.value]).toEqual(['-12', '12', '0']);
    const fine = byLabel(el, 'Fine pitch') as HTMLInputElement;
    expect([fine.min, fine.max]).toEqual(['-50', '50']);
    expect(byLabel(el, 'Practice').tagName).toBe('SELECT');
    expect(el.querySelector('[role=toolbar]')!.getAttribute('aria-label')).toBe('Practice controls');
    // No loop yet: the Loop button says how to make one and cannot be pressed.
    expect(button(el, 'Loop').disabled).toBe(true);
    expect(button(el, 'Loop').getAttribute('aria-pressed')).toBe('false');
    expect(button(el, 'Count-in').disabled).toBe(false);
    expect(button(el, 'Click').disabled).toBe(false);
    for (const c of el.querySelectorAll('button, input, select')) expect((c as HTMLElement).tabIndex).toBeGreaterThanOrEqual(0);
  });

  it('tempo and pitch sliders set the store (clamped), with readable values', async () => {
    const { el } = await mount();
    await act(async () => setValue(byLabel(el, 'Tempo') as HTMLInputElement, '75'));
    await act(async () => setValue(byLabel(el, 'Pitch') as HTMLInputElement, '-2'));
    expect(usePractice.getState().tempo).toBe(75);
    expect(usePractice.getState().semitones).toBe(-2);
    expect(byLabel(el, 'Tempo').getAttribute('aria-valuetext')).toBe('75%');
    expect(byLabel(el, 'Pitch').getAttribute('aria-valuetext')).toBe('-2 semitones');
    expect(el.textContent).toContain('-2 st');
    // Reset appears once away from the original, and brings it back.
    await act(async () => button(el, 'Reset').click());
    expect(usePractice.getState().tempo).toBe(100);
    expect(usePractice.getState().semitones).toBe(0);
  });

  it('count-in and click need the analysis', async () => {
    const { el } = await mount({ bpm: null, beats: null });
    expect(button(el, 'Count-in').disabled).toBe(true);
    expect(button(el, 'Click').disabled).toBe(true);
  });

  it('the practice preset mutes the chosen stem, the rest at 100 %, and loops four bars from the playhead', async () => {
    const { el, store, seeks } = await mount({}, 3.3);
    store.getState().setVolume('drums', 0.4);
    store.getState().toggleSolo('vocals');
    await act(async () => setValue(byLabel(el, 'Practice') as HTMLSelectElement, 'bass'));
    const t = store.getState().mixer.tracks;
    expect(t.bass).toEqual({ muted: true, solo: false, volume: 1 });
    for (const s of ['drums', 'other', 'vocals']) expect(t[s]).toEqual({ muted: false, solo: false, volume: 1 });
    expect(t.mix.muted).toBe(true);
    const p = usePractice.getState();
    expect(p.practiceStem).toBe('bass');
    expect(p.loopOn).toBe(true);
    expect(p.loop).toEqual({ start: 3.2, end: 11.2 }); // beat at 3.2 s, 16 beats on
    expect(seeks).toEqual([3.2]);
    expect(button(el, 'Loop').getAttribute('aria-pressed')).toBe('true');
    expect(el.querySelector('[data-testid=loop-range]')!.textContent).toBe('0:03.2–0:11.2');
  });

  it('A / B keys set the loop at the playhead on the beat grid; Alt skips the snapping; L toggles', async () => {
    await mount({}, 3.3);
    const key = (code: string, altKey = false) => act(async () => void window.dispatchEvent(new KeyboardEvent('keydown', { code, altKey, bubbles: true })));
    await key('KeyA');
    expect(usePractice.getState().loop).toEqual({ start: 3.2, end: 12 });
    expect(usePractice.getState().loopOn).toBe(false);
    await key('KeyL');
    expect(usePractice.getState().loopOn).toBe(true);
    await key('KeyL');
    expect(usePractice.getState().loopOn).toBe(false);
    await key('KeyA', true);
    expect(usePractice.getState().loop!.start).toBeCloseTo(3.3, 9);
  });
});

describe('loop helpers', () => {
  it('loopWithEdge: A keeps a later end, B keeps an earlier start', () => {
    expect(loopWithEdge('a', 2.1, 12, { start: 1, end: 5 }, BEATS, false)).toEqual({ start: 2.2, end: 5 });
    expect(loopWithEdge('a', 6, 12, { start: 1, end: 5 }, BEATS, true)).toEqual({ start: 6, end: 12 });
    expect(loopWithEdge('b', 4.1, 12, { start: 1, end: 5 }, BEATS, false)).toEqual({ start: 1, end: 4.2 });
    expect(loopWithEdge('b', 0.6, 12, { start: 1, end: 5 }, null, false)).toEqual({ start: 0, end: 0.6 });
  });
  it('defaultLoop: four bars on the grid, or 8 s, inside the song', () => {
    expect(defaultLoop(3.3, 12, BEATS)).toEqual({ start: 3.2, end: 11.2 });
    expect(defaultLoop(1, 12, null)).toEqual({ start: 1, end: 9 });
    expect(defaultLoop(11.9, 12, null)).toEqual({ start: 4, end: 12 });
  });
  it('practiceMixer leaves the original mix muted', () => {
    const m = practiceMixer(initialMixer('j', ['drums', 'bass']), 'drums');
    expect(m.tracks).toEqual({ drums: { muted: true, solo: false, volume: 1 }, bass: { muted: false, solo: false, volume: 1 }, mix: { muted: true, solo: false, volume: 1 } });
  });
});
