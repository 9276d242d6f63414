import { describe, expect, it } from 'vitest';
import { DemixRemoteError, type Batch, type Job, type UploadOptions } from '../../../preload/contract.ts';
import { createFakeApi, queuedJob } from '../testing/fake-api.ts';
import { createDemixStore } from './store.ts';
import { droppedFiles, groupUploads, isJobOfUpload, skipInFolder, type PickedFile } from './uploads.ts';

const file = (name: string, size = 10) => new File([new Uint8Array(size)], name.split('/').pop()!);
const picked = (rel: string, size = 10): PickedFile => ({ file: file(rel, size), relativePath: rel });

describe('grouping uploads', () => {
  it('one upload per loose file, one per top-level folder; hidden and non-audio folder files left out', () => {
    const { groups, skipped } = groupUploads([
      picked('a.flac'),
      picked('Album/cd2/02.flac'),
      picked('Album/cd1/01.flac'),
      picked('Album/cover.jpg'),
      picked('Album/.DS_Store'),
      picked('Other/x.mp3'),
      picked('b.wav'),
    ]);
    expect(groups.map((g) => [g.folder, g.files.map((f) => f.relativePath)])).toEqual([
      [null, ['a.flac']],
      ['Album', ['Album/cd1/01.flac', 'Album/cd2/02.flac']],
      ['Other', ['Other/x.mp3']],
      [null, ['b.wav']],
    ]);
    expect(skipped).toBe(2);
    expect(new Set(groups.map((g) => g.uploadId)).size).toBe(4);
    for (const g of groups) expect(g.uploadId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(skipInFolder('A/__MACOSX/x.flac')).toBe(true);
    expect(skipInFolder('A/song.flac')).toBe(false);
  });
});

describe('dropped files and folders', () => {
  // Stand-ins for the browser's FileSystemEntry objects (File and Directory Entries API).
  const fileEntry = (name: string) => ({ isFile: true, isDirectory: false, name, fullPath: `/${name}`, file: (ok: (f: File) => void) => ok(file(name)) });
  const dirEntry = (name: string, children: unknown[]) => {
    return {
      isFile: false,
      isDirectory: true,
      name,
      fullPath: `/${name}`,
      createReader: () => {
        // Chromium answers in chunks, then with an empty list.
        const chunks = [children.slice(0, 2), children.slice(2), []];
        return { readEntries: (ok: (e: unknown[]) => void) => ok(chunks.shift() ?? []) };
      },
    };
  };
  const item = (entry: unknown, f: File | null = null) => ({ kind: 'file', webkitGetAsEntry: () => entry, getAsFile: () => f });

  it('walks dropped folders (every chunk of entries) and keeps their relative paths; plain files stay loose', async () => {
    const album = dirEntry('Album', [fileEntry('01.flac'), dirEntry('cd2', [fileEntry('02.flac')]), fileEntry('cover.jpg'), fileEntry('03.flac')]);
    const dt = { items: [item(album), item(fileEntry('single.mp3')), item(null, file('no-entry.wav'))], files: [] } as unknown as DataTransfer;
    const got = await droppedFiles(dt);
    expect(got.map((p) => p.relativePath).sort()).toEqual(['Album/01.flac', 'Album/03.flac', 'Album/cd2/02.flac', 'Album/cover.jpg', 'no-entry.wav', 'single.mp3']);
    const { groups, skipped } = groupUploads(got);
    expect(groups.find((g) => g.folder === 'Album')!.files.map((f) => f.relativePath)).toEqual(['Album/01.flac', 'Album/03.flac', 'Album/cd2/02.flac']);
    expect(skipped).toBe(1);
  });

  it('falls back to dataTransfer.files when there are no items', async () => {
    const dt = { items: [], files: [file('a.flac')] } as unknown as DataTransfer;
    expect((await droppedFiles(dt)).map((p) => p.relativePath)).toEqual(['a.flac']);
  });
});

describe('store.uploadFiles', () => {
  function setup() {
    const api = createFakeApi();
    const sent: { name: string; uploadId: string; relativePath: string }[] = [];
    const progress: [string, number][] = [];
    let fail: ((o: UploadOptions) => Error | null) | null = null;
    api.upload = async (blob: Blob, o: UploadOptions) => {
      const err = fail?.(o);
      if (err) throw err;
      o.onProgress?.(Math.floor(blob.size / 2), blob.size);
      progress.push([o.relativePath, store.getState().uploads.find((r) => r.relativePath === o.relativePath)?.loaded ?? -1]);
      sent.push({ name: (blob as File).name, uploadId: o.uploadId, relativePath: o.relativePath });
      return { uploadId: o.uploadId, path: o.relativePath, size: blob.size };
    };
    const added: string[] = [];
    let early: ((jobs: Job[]) => void) | null = null;
    api.override('jobs:add-upload', async (req: { uploadId: string }) => {
      added.push(req.uploadId);
      const files = sent.filter((s) => s.uploadId === req.uploadId);
      const folder = files[0].relativePath.includes('/') ? files[0].relativePath.split('/')[0] : null;
      const batch: Batch | null = folder ? { id: `b-${req.uploadId}`, sourceFolder: `/data/uploads/${req.uploadId}/${folder}`, outputDir: '/out', total: files.length, done: 0, failed: 0, canceled: 0, skipped: 0, createdAt: 1 } : null;
      const jobs = files.map((f, i) =>
        queuedJob({
          id: `j-${req.uploadId}-${i}`,
          name: f.name,
          inputPath: `/data/uploads/${req.uploadId}/${f.relativePath}`,
          batchId: batch?.id ?? null,
          relativePath: folder ? f.relativePath.slice(folder.length + 1) : null,
          options: { modelId: 'htdemucs', format: 'wav', bits: 16, clipMode: 'rescale', twoStems: null, shifts: 0, device: 'auto' },
          outputDir: '/out/htdemucs/x',
          createdAt: 1,
        }),
      );
      early?.(jobs);
      return { jobs, batches: batch ? [batch] : [], rejected: [] };
    });
    const store = createDemixStore(api, { setTimeout: () => {} });
    return { api, store, sent, added, progress, setFail: (f: typeof fail) => (fail = f), announceEarly: (on: (jobs: Job[]) => void) => (early = on) };
  }

  it('shows a row per file with its progress, uploads folders as one upload id, then enqueues each upload', async () => {
    const { store, sent, added, progress } = setup();
    const res = await store.getState().uploadFiles([picked('Song.flac', 100), picked('Album/cd1/01.flac', 50), picked('Album/cd2/02.flac', 60)]);
    expect(res).toEqual({ added: 3, rejected: 0 });
    // Rows existed and followed the progress while uploading.
    expect(progress).toEqual([
      ['Song.flac', 50],
      ['Album/cd1/01.flac', 25],
      ['Album/cd2/02.flac', 30],
    ]);
    expect(sent.map((s) => s.relativePath)).toEqual(['Song.flac', 'Album/cd1/01.flac', 'Album/cd2/02.flac']);
    expect(new Set(sent.map((s) => s.uploadId)).size).toBe(2);
    expect(added).toHaveLength(2);
    expect(store.getState().uploads).toEqual([]);
    expect(Object.keys(store.getState().batches)).toHaveLength(1);
    expect(store.getState().toasts.at(-1)).toMatchObject({ kind: 'success', title: 'Uploaded 3 songs to the queue' });
  });

  it('refuses files over the limit before sending them, and reports the bridge\'s refusals by name', async () => {
    const { api, store, sent, setFail } = setup();
    await api.invoke('settings:set', { maxUploadBytes: 1024 });
    setFail((o) => (o.relativePath === 'notes.txt' ? new DemixRemoteError('BAD_REQUEST', 'notes.txt: Not an audio file (by its name and content): choose an mp3, wav, flac, m4a, ogg, opus or aiff file.') : null));
    const res = await store.getState().uploadFiles([picked('big.flac', 4096), picked('notes.txt', 10), picked('ok.flac', 100)]);
    expect(res).toEqual({ added: 1, rejected: 2 });
    expect(sent.map((s) => s.relativePath)).toEqual(['ok.flac']);
    const toast = store.getState().toasts.find((t) => t.kind === 'error')!;
    expect(toast.title).toBe('Could not add 2 files');
    expect(toast.lines).toEqual([
      'big.flac: larger than the upload limit of 1.0 kB (Settings → Largest upload).',
      'notes.txt: Not an audio file (by its name and content): choose an mp3, wav, flac, m4a, ogg, opus or aiff file.',
    ]);
    expect(store.getState().uploads).toEqual([]);
  });

  it('a canceled upload is dropped quietly and not enqueued', async () => {
    const { api, store, added } = setup();
    api.upload = (_blob: Blob, o: UploadOptions) =>
      new Promise((_ok, fail) => o.signal?.addEventListener('abort', () => fail(Object.assign(new Error('canceled'), { name: 'AbortError' }))));
    const run = store.getState().uploadFiles([picked('slow.flac', 100)]);
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    const row = store.getState().uploads[0];
    expect(row).toMatchObject({ relativePath: 'slow.flac', status: 'uploading' });
    store.getState().cancelUpload(row.key);
    expect(await run).toEqual({ added: 0, rejected: 0 });
    expect(added).toEqual([]);
    expect(store.getState().uploads).toEqual([]);
    expect(store.getState().toasts.filter((t) => t.kind === 'error')).toEqual([]);
  });

  it("replaces the upload row by the job's row as soon as the job's event arrives (before jobs:add-upload answers)", async () => {
    const { api, store, announceEarly } = setup();
    await store.getState().start();
    const seen: { rows: string[]; jobs: string[] }[] = [];
    announceEarly((jobs) => {
      for (const j of jobs) {
        api.emit('job-updated', j);
        seen.push({ rows: store.getState().uploads.map((r) => r.relativePath), jobs: Object.values(store.getState().jobs).map((x) => x.name) });
      }
    });
    await store.getState().uploadFiles([picked('Album/a.flac', 10), picked('Album/b.flac', 10)]);
    // After a's event only b's upload row is left; after b's none: never an upload row beside its own job row.
    expect(seen).toEqual([
      { rows: ['Album/b.flac'], jobs: ['a.flac'] },
      { rows: [], jobs: ['a.flac', 'b.flac'] },
    ]);
  });
});

describe('isJobOfUpload', () => {
  it('matches the upload id and the relative path as path segments (either separator)', () => {
    const row = { uploadId: 'u1234567', relativePath: 'Album/cd1/01.flac' };
    expect(isJobOfUpload(row, '/data/uploads/u1234567/Album/cd1/01.flac')).toBe(true);
    expect(isJobOfUpload(row, 'C:\\data\\uploads\\u1234567\\Album\\cd1\\01.flac')).toBe(true);
    expect(isJobOfUpload(row, '/data/uploads/u1234567/Album/cd1/x01.flac')).toBe(false);
    expect(isJobOfUpload(row, '/data/uploads/u12345678/Album/cd1/01.flac')).toBe(false);
    expect(isJobOfUpload({ uploadId: 'u1234567', relativePath: 'Song.flac' }, '/music/Song.flac')).toBe(false);
  });
});

describe('an upload answered from the cache before jobs:add-upload answers', () => {
  it("keeps the job's newer state from its event (done), not the answer's snapshot (queued)", async () => {
    const api = createFakeApi();
    api.upload = async (blob: Blob, o: UploadOptions) => ({ uploadId: o.uploadId, path: o.relativePath, size: blob.size });
    api.override('jobs:add-upload', async (req: { uploadId: string }) => {
      const queued = { id: 'jc', name: 'Again.flac', inputPath: `/data/uploads/${req.uploadId}/Again.flac`, batchId: null, relativePath: null, options: { modelId: 'htdemucs', format: 'wav', bits: 16, clipMode: 'rescale', twoStems: null, shifts: 0, device: 'auto' }, status: 'queued', progress: 0, segmentsDone: 0, segmentsTotal: 0, etaSec: null, provider: null, error: null, priority: 0, outputDir: '/out/x', durationSec: null, stems: [], createdAt: 1, startedAt: null, finishedAt: null } satisfies Job;
      api.emit('job-updated', { ...queued, status: 'done', provider: 'cache', progress: 1, finishedAt: 2 });
      return { jobs: [queued], batches: [], rejected: [] };
    });
    const store = createDemixStore(api, { setTimeout: () => {} });
    await store.getState().start();
    await store.getState().uploadFiles([picked('Again.flac', 10)]);
    expect(store.getState().jobs.jc).toMatchObject({ status: 'done', provider: 'cache' });
  });
});

