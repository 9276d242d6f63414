import { describe, expect, it } from 'vitest';
import { createDemixStore } from './store.ts';
import { createFakeApi, finishJob } from '../testing/fake-api.ts';
import { groupQueue, queuedInOrder, moveTarget, batchCounts } from './order.ts';
import { effectiveGains, initialMixer, mixdownPresets } from './mixer.ts';
import { DemixRemoteError } from '../../../preload/contract.ts';

function setup() {
  const api = createFakeApi();
  const timers: (() => void)[] = [];
  const store = createDemixStore(api, { setTimeout: (fn) => timers.push(fn) });
  return { api, store, timers };
}

describe('demix store', () => {
  it('loads jobs and queue state on start and then follows events only', async () => {
    const { api, store } = setup();
    await api.invoke('jobs:add-files', { paths: ['/m/a.flac', '/m/b.wav'] });
    const stop = await store.getState().start();
    expect(store.getState().loaded).toBe(true);
    expect(Object.keys(store.getState().jobs)).toHaveLength(2);
    expect(store.getState().queue?.queued).toBe(2);

    const id = Object.keys(store.getState().jobs)[0];
    const callsBefore = api.calls.length;
    api.patchJob(id, { status: 'running', progress: 0.5, etaSec: 4, provider: 'cpu', startedAt: Date.now() });
    expect(store.getState().jobs[id].status).toBe('running');
    expect(store.getState().jobs[id].progress).toBe(0.5);
    expect(store.getState().queue?.running).toBe(1);
    // Events, not polling: following the update needed no invoke.
    expect(api.calls.length).toBe(callsBefore);

    api.emit('job-removed', { id });
    expect(store.getState().jobs[id]).toBeUndefined();

    stop();
    expect(api.listenerCount('job-updated')).toBe(0);
  });

  it('keeps an event that arrived while jobs:list was in flight', async () => {
    const { api, store } = setup();
    const { jobs } = await api.invoke('jobs:add-files', { paths: ['/m/a.flac'] });
    const stale = { ...jobs[0] };
    api.override('jobs:list', async () => {
      // The job finishes while the list answer (with the stale copy) is on its way.
      finishJob(api, stale.id);
      return { jobs: [stale], batches: [], total: 1 };
    });
    await store.getState().start();
    expect(store.getState().jobs[stale.id].status).toBe('done');
  });

  it('adds paths, groups a folder into a batch and reports rejected files by name', async () => {
    const { api, store } = setup();
    api.folders.set('/m/album', ['01 intro.flac', '02 song.mp3', 'notes.txt']);
    await store.getState().start();
    const res = await store.getState().addPaths(['/m/album', '/m/readme.pdf']);
    expect(res).toEqual({ added: 2, rejected: 2 });
    const s = store.getState();
    const items = groupQueue(s.jobs, s.batches);
    expect(items).toHaveLength(1);
    expect(items[0].kind).toBe('batch');
    if (items[0].kind === 'batch') expect(items[0].jobs.map((j) => j.name)).toEqual(['01 intro.flac', '02 song.mp3']);
    const err = s.toasts.find((t) => t.kind === 'error');
    expect(err?.title).toBe('Skipped 2 files');
    expect(err?.lines?.join('\n')).toContain('notes.txt: not an audio file');
    expect(err?.lines?.join('\n')).toContain('readme.pdf');
  });

  it('turns a failed action into an error toast carrying main’s message', async () => {
    const { store } = setup();
    await store.getState().start();
    await store.getState().addPaths(['/m/a.flac']);
    const id = Object.keys(store.getState().jobs)[0];
    await store.getState().retry(id); // queued → retry is a CONFLICT
    const t = store.getState().toasts.at(-1);
    expect(t?.kind).toBe('error');
    expect(t?.title).toBe('Could not retry');
    expect(t?.lines?.[0]).toBe('Cannot retry a queued job.');
  });

  it('cancels a running job and retries it', async () => {
    const { api, store } = setup();
    await store.getState().start();
    await store.getState().addPaths(['/m/a.flac']);
    const id = Object.keys(store.getState().jobs)[0];
    api.patchJob(id, { status: 'running' });
    await store.getState().cancel(id);
    expect(store.getState().jobs[id].status).toBe('canceled');
    await store.getState().retry(id);
    expect(store.getState().jobs[id].status).toBe('queued');
    expect(api.calls.map((c) => c.channel)).toContain('jobs:cancel');
  });

  it('moves a queued job up and down with the keyboard actions', async () => {
    const { store } = setup();
    await store.getState().start();
    await store.getState().addPaths(['/m/a.flac', '/m/b.flac', '/m/c.flac']);
    const names = () => queuedInOrder(store.getState().jobs).map((j) => j.name);
    expect(names()).toEqual(['a.flac', 'b.flac', 'c.flac']);
    const c = Object.values(store.getState().jobs).find((j) => j.name === 'c.flac')!;
    await store.getState().move(c.id, -1);
    expect(names()).toEqual(['a.flac', 'c.flac', 'b.flac']);
    await store.getState().move(c.id, -1);
    expect(names()).toEqual(['c.flac', 'a.flac', 'b.flac']);
    const a = Object.values(store.getState().jobs).find((j) => j.name === 'a.flac')!;
    await store.getState().move(a.id, 1);
    expect(names()).toEqual(['c.flac', 'b.flac', 'a.flac']);
    // At the end already: no call, no change.
    await store.getState().move(a.id, 1);
    expect(names()).toEqual(['c.flac', 'b.flac', 'a.flac']);
  });

  it('follows pause/resume of the whole queue', async () => {
    const { store } = setup();
    await store.getState().start();
    await store.getState().pauseAll();
    expect(store.getState().queue?.paused).toBe(true);
    await store.getState().resumeAll();
    expect(store.getState().queue?.paused).toBe(false);
  });

  it('validates settings with the contract schema before sending them', async () => {
    const { api, store } = setup();
    await store.getState().loadSettings();
    const bad = await store.getState().saveSettings({ concurrency: 0, outputDir: '' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(Object.keys(bad.fieldErrors).sort()).toEqual(['concurrency', 'outputDir']);
    expect(api.calls.some((c) => c.channel === 'settings:set')).toBe(false);

    const good = await store.getState().saveSettings({ format: 'flac', bits: 24 });
    expect(good.ok).toBe(true);
    expect(api.settings.format).toBe('flac');
    expect(store.getState().settings?.bits).toBe(24);
  });

  it('reports a settings error from main as a message', async () => {
    const { api, store } = setup();
    await store.getState().loadSettings();
    api.override('settings:set', () => {
      throw new DemixRemoteError('BAD_REQUEST', 'Cannot write to /root: choose another folder.');
    });
    const res = await store.getState().saveSettings({ outputDir: '/root' });
    expect(res).toEqual({ ok: false, fieldErrors: {}, message: 'Cannot write to /root: choose another folder.' });
  });

  it('leaves the player when its job is removed', async () => {
    const { api, store } = setup();
    await store.getState().start();
    await store.getState().addPaths(['/m/a.flac']);
    const id = Object.keys(store.getState().jobs)[0];
    finishJob(api, id);
    store.getState().navigate({ name: 'player', jobId: id });
    api.emit('job-removed', { id });
    expect(store.getState().view).toEqual({ name: 'queue' });
  });

  it('expires toasts', async () => {
    const { store, timers } = setup();
    store.getState().toast({ kind: 'info', title: 'hello' });
    expect(store.getState().toasts).toHaveLength(1);
    timers.forEach((f) => f());
    expect(store.getState().toasts).toHaveLength(0);
  });
});

describe('mixer', () => {
  it('mute silences, solo wins, the original mix starts muted', () => {
    const { store } = setup();
    store.getState().openMixer('j1', ['drums', 'bass', 'other', 'vocals']);
    let g = effectiveGains(store.getState().mixer);
    expect(g).toEqual({ drums: 1, bass: 1, other: 1, vocals: 1, mix: 0 });
    store.getState().toggleMute('vocals');
    store.getState().setVolume('bass', 0.5);
    g = effectiveGains(store.getState().mixer);
    expect(g).toEqual({ drums: 1, bass: 0.5, other: 1, vocals: 0, mix: 0 });
    store.getState().toggleSolo('drums');
    g = effectiveGains(store.getState().mixer);
    expect(g).toEqual({ drums: 1, bass: 0, other: 0, vocals: 0, mix: 0 });
    store.getState().toggleSolo('vocals'); // solo beats mute
    expect(effectiveGains(store.getState().mixer).vocals).toBe(1);
    store.getState().setVolume('drums', 7);
    expect(store.getState().mixer.tracks.drums.volume).toBe(1);
  });

  it('keeps the mixer when reopening the same job', () => {
    const { store } = setup();
    store.getState().openMixer('j1', ['drums', 'vocals']);
    store.getState().toggleMute('drums');
    store.getState().openMixer('j1', ['drums', 'vocals']);
    expect(store.getState().mixer.tracks.drums.muted).toBe(true);
    store.getState().openMixer('j2', ['drums', 'vocals']);
    expect(store.getState().mixer.tracks.drums.muted).toBe(false);
  });

  it('offers presets that exist for the job’s stems', () => {
    expect(mixdownPresets(['drums', 'bass', 'other', 'vocals']).find((p) => p.id === 'no-vocals')?.stems).toEqual(['drums', 'bass', 'other']);
    expect(mixdownPresets(['vocals', 'no_vocals']).map((p) => p.id)).toEqual(['no-vocals', 'all']);
    expect(initialMixer('j', ['a']).order).toEqual(['a', 'mix']);
  });
});

describe('queue order', () => {
  it('computes keyboard move targets', () => {
    const js = ['a', 'b', 'c'].map((id) => ({ id }) as never);
    expect(moveTarget(js, 'a', -1)).toBeUndefined();
    expect(moveTarget(js, 'b', -1)).toEqual({ beforeId: 'a' });
    expect(moveTarget(js, 'a', 1)).toEqual({ beforeId: 'c' });
    expect(moveTarget(js, 'b', 1)).toEqual({ beforeId: null });
    expect(moveTarget(js, 'c', 1)).toBeUndefined();
  });

  it('counts a batch from its jobs when main has not sent it', () => {
    const jobs = [{ status: 'done' }, { status: 'failed' }, { status: 'running' }] as never[];
    expect(batchCounts(null, jobs)).toEqual({ total: 3, done: 1, failed: 1, active: 1 });
  });
});
