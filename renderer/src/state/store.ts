/**
 * The renderer's state: one zustand store, fed by the contract's pushed events (no polling),
 * whose actions call `DemixApi.invoke`. Created per API so tests can drive it with a fake.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import {
  DemixRemoteError,
  Settings as SettingsSchema,
  type Batch,
  type DemixApi,
  type Diagnostics,
  type Job,
  type QueueState,
  type Settings,
} from '../../../preload/contract.ts';
import { baseName } from '../format.ts';
import { queuedInOrder, moveTarget } from './order.ts';
import { EMPTY_MIXER, clamp01, initialMixer, type MixerState } from './mixer.ts';
import { formatSize, groupUploads, isJobOfUpload, type PickedFile, type UploadRow } from './uploads.ts';

export type View =
  | { name: 'queue' }
  | { name: 'player'; jobId: string }
  | { name: 'settings' }
  | { name: 'diagnostics' };

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  title: string;
  /** Extra lines (e.g. one per rejected file). */
  lines?: string[];
}

export type SaveResult = { ok: true; settings: Settings } | { ok: false; fieldErrors: Record<string, string>; message: string };

export interface DemixState {
  jobs: Record<string, Job>;
  batches: Record<string, Batch>;
  queue: QueueState | null;
  loaded: boolean;
  settings: Settings | null;
  diagnostics: Diagnostics | null;
  view: View;
  toasts: Toast[];
  mixer: MixerState;
  /** Browser uploads not yet enqueued (web bridge only), in order. */
  uploads: UploadRow[];
  /**
   * The "Add by path" field: its text, whether it has the focus, and how many adds from it are on
   * their way. Kept here, not in the field, because the field is replaced when the first job
   * appears (the empty screen's field gives way to the queue's): a path typed while the first add
   * was answered must survive that, with the focus.
   */
  addField: { draft: string; focused: boolean; inFlight: number };

  /** Loads jobs and queue state and subscribes to events; returns the unsubscribe function. */
  start(): Promise<() => void>;
  addPaths(paths: string[]): Promise<{ added: number; rejected: number }>;
  /** Updates the "Add by path" field's state (a function gets the current state). */
  setAddField(patch: Partial<DemixState['addField']> | ((f: DemixState['addField']) => Partial<DemixState['addField']>)): void;
  /** Browser: uploads files (loose, or with folder paths: one batch per folder), then enqueues them. */
  uploadFiles(items: PickedFile[]): Promise<{ added: number; rejected: number }>;
  /** Stops one upload (the bridge keeps nothing of it). */
  cancelUpload(key: string): void;
  cancel(id: string): Promise<void>;
  retry(id: string): Promise<void>;
  remove(id: string, deleteFiles?: boolean): Promise<void>;
  reorder(id: string, beforeId: string | null): Promise<void>;
  /** Keyboard move: one place earlier (-1) or later (+1) among queued jobs. */
  move(id: string, delta: -1 | 1): Promise<void>;
  pauseAll(): Promise<void>;
  resumeAll(): Promise<void>;
  loadSettings(): Promise<Settings | null>;
  saveSettings(patch: Partial<Settings>): Promise<SaveResult>;
  loadDiagnostics(): Promise<Diagnostics | null>;
  navigate(view: View): void;
  toast(t: Omit<Toast, 'id'>, ttlMs?: number): number;
  dismissToast(id: number): void;
  openMixer(jobId: string, stems: string[]): void;
  toggleMute(stem: string): void;
  toggleSolo(stem: string): void;
  setVolume(stem: string, volume: number): void;
}

export type DemixStore = StoreApi<DemixState>;

export interface StoreOptions {
  /** Default time a non-error toast stays (ms); errors stay twice as long. 0 = until dismissed. */
  toastTtlMs?: number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
}

let toastSeq = 0;

/** One-line message of anything thrown by `invoke`. */
export function errorMessage(e: unknown): string {
  if (e instanceof DemixRemoteError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function createDemixStore(api: DemixApi, opts: StoreOptions = {}): DemixStore {
  const ttl = opts.toastTtlMs ?? 6000;
  const later = opts.setTimeout ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));

  const controllers = new Map<string, AbortController>();
  return createStore<DemixState>()((set, get) => {
    /** Runs an action, turning a failure into an error toast (the message is already user-facing). */
    async function guarded<T>(title: string, fn: () => Promise<T>): Promise<T | undefined> {
      try {
        return await fn();
      } catch (e) {
        get().toast({ kind: 'error', title, lines: [errorMessage(e)] });
        return undefined;
      }
    }

    function upsertJobs(jobs: Job[]) {
      if (jobs.length === 0) return;
      set((s) => {
        const next = { ...s.jobs };
        for (const j of jobs) next[j.id] = j;
        return { jobs: next };
      });
    }

    /** Jobs from an add's answer: a job already known came through an event, which is newer than the answer's snapshot. */
    function addNewJobs(jobs: Job[]) {
      upsertJobs(jobs.filter((j) => !get().jobs[j.id]));
    }

    function upsertBatches(batches: Batch[]) {
      if (batches.length === 0) return;
      set((s) => {
        const next = { ...s.batches };
        for (const b of batches) next[b.id] = b;
        return { batches: next };
      });
    }

    return {
      jobs: {},
      batches: {},
      queue: null,
      loaded: false,
      settings: null,
      diagnostics: null,
      view: { name: 'queue' },
      toasts: [],
      mixer: EMPTY_MIXER,
      uploads: [],
      addField: { draft: '', focused: false, inFlight: 0 },

      setAddField(patch) {
        set((s) => ({ addField: { ...s.addField, ...(typeof patch === 'function' ? patch(s.addField) : patch) } }));
      },

      async start() {
        // Subscribe first so nothing is missed; ids touched by events win over the (older) list.
        const touched = new Set<string>();
        const offs = [
          api.on('job-updated', (job) => {
            touched.add(job.id);
            upsertJobs([job]);
            // An upload being enqueued: its job's row replaces the upload row at once.
            if (get().uploads.some((r) => r.status === 'adding' && isJobOfUpload(r, job.inputPath))) {
              set((s) => ({ uploads: s.uploads.filter((r) => !(r.status === 'adding' && isJobOfUpload(r, job.inputPath))) }));
            }
          }),
          api.on('job-removed', ({ id }) => {
            touched.add(id);
            set((s) => {
              if (!(id in s.jobs)) return {};
              const next = { ...s.jobs };
              delete next[id];
              const view = s.view.name === 'player' && s.view.jobId === id ? { name: 'queue' as const } : s.view;
              return { jobs: next, view };
            });
          }),
          api.on('batch-updated', (batch) => upsertBatches([batch])),
          api.on('queue-state', (queue) => set({ queue })),
        ];
        const [list, queue] = await Promise.all([
          api.invoke('jobs:list', { limit: 10_000 }),
          api.invoke('queue:state', {}),
        ]);
        set((s) => {
          const jobs = { ...s.jobs };
          for (const j of list.jobs) if (!touched.has(j.id)) jobs[j.id] = j;
          const batches = { ...s.batches };
          for (const b of list.batches) if (!(b.id in batches)) batches[b.id] = b;
          return { jobs, batches, queue: s.queue ?? queue, loaded: true };
        });
        return () => offs.forEach((off) => off());
      },

      async addPaths(paths) {
        const clean = paths.map((p) => p.trim()).filter(Boolean);
        if (clean.length === 0) return { added: 0, rejected: 0 };
        const res = await guarded('Could not add to the queue', () => api.invoke('jobs:add-files', { paths: clean }));
        if (!res) return { added: 0, rejected: clean.length };
        upsertBatches(res.batches);
        upsertJobs(res.jobs);
        if (res.rejected.length > 0) {
          const n = res.rejected.length;
          get().toast({
            kind: 'error',
            title: n === 1 ? `Skipped 1 file` : `Skipped ${n} files`,
            lines: res.rejected.slice(0, 8).map((r) => `${baseName(r.path)}: ${r.reason}`).concat(n > 8 ? [`…and ${n - 8} more`] : []),
          });
        }
        if (res.jobs.length > 0) {
          const n = res.jobs.length;
          get().toast({ kind: 'success', title: n === 1 ? `Added “${res.jobs[0].name}”` : `Added ${n} songs to the queue` });
        } else if (res.rejected.length === 0) {
          get().toast({ kind: 'info', title: 'Nothing to add: no audio files found there.' });
        }
        return { added: res.jobs.length, rejected: res.rejected.length };
      },

      async uploadFiles(items) {
        if (items.length === 0) return { added: 0, rejected: 0 };
        if (!api.upload) {
          get().toast({ kind: 'error', title: 'Uploading needs the browser version', lines: ['Add files by path instead.'] });
          return { added: 0, rejected: items.length };
        }
        const upload = api.upload.bind(api);
        const limit = (get().settings ?? (await get().loadSettings()))?.maxUploadBytes ?? Infinity;
        const { groups, skipped } = groupUploads(items);
        const rejected: string[] = [];
        let added = 0;
        let seq = 0;
        const keys = new Map<PickedFile, string>();
        const rows: UploadRow[] = [];
        for (const g of groups) {
          for (const f of g.files) {
            const key = `${g.uploadId}:${++seq}`;
            keys.set(f, key);
            rows.push({ key, uploadId: g.uploadId, name: f.file.name, relativePath: f.relativePath, loaded: 0, total: f.file.size, status: 'waiting' });
          }
        }
        set((s) => ({ uploads: [...s.uploads, ...rows], view: s.view.name === 'queue' ? s.view : { name: 'queue' } }));
        const patchRow = (key: string, patch: Partial<UploadRow>) =>
          set((s) => ({ uploads: s.uploads.map((r) => (r.key === key ? { ...r, ...patch } : r)) }));
        const dropRows = (ks: string[]) => set((s) => ({ uploads: s.uploads.filter((r) => !ks.includes(r.key)) }));
        let stopAll: string | null = null;
        for (const g of groups) {
          let stored = 0;
          for (const f of g.files) {
            const key = keys.get(f)!;
            if (stopAll) {
              dropRows([key]);
              continue;
            }
            if (f.file.size > limit) {
              rejected.push(`${f.relativePath}: larger than the upload limit of ${formatSize(limit)} (Settings → Largest upload).`);
              dropRows([key]);
              continue;
            }
            const ctl = new AbortController();
            controllers.set(key, ctl);
            patchRow(key, { status: 'uploading' });
            try {
              await upload(f.file, {
                uploadId: g.uploadId,
                relativePath: f.relativePath,
                signal: ctl.signal,
                onProgress: (loaded, total) => patchRow(key, { loaded, total }),
              });
              stored++;
              patchRow(key, { status: 'adding', loaded: f.file.size });
            } catch (e) {
              dropRows([key]);
              if ((e as Error)?.name === 'AbortError') continue;
              const msg = errorMessage(e);
              rejected.push(msg.startsWith(`${f.file.name}`) ? msg : `${f.relativePath}: ${msg}`);
              const code = (e as { code?: string })?.code;
              if (code === 'FORBIDDEN' || (code === 'INTERNAL' && /connection/i.test(errorMessage(e)))) stopAll = errorMessage(e);
            } finally {
              controllers.delete(key);
            }
          }
          const groupKeys = g.files.map((f) => keys.get(f)!);
          if (stored > 0 && !stopAll) {
            try {
              const res = await api.invoke('jobs:add-upload', { uploadId: g.uploadId });
              upsertBatches(res.batches);
              addNewJobs(res.jobs);
              added += res.jobs.length;
              for (const r of res.rejected) rejected.push(`${baseName(r.path)}: ${r.reason}`);
            } catch (e) {
              rejected.push(`${g.folder ?? g.files[0].relativePath}: ${errorMessage(e)}`);
            }
          }
          dropRows(groupKeys);
        }
        if (rejected.length > 0) {
          const n = rejected.length;
          get().toast({
            kind: 'error',
            title: stopAll ? 'Uploading stopped' : n === 1 ? 'Could not add 1 file' : `Could not add ${n} files`,
            lines: rejected.slice(0, 8).concat(n > 8 ? [`…and ${n - 8} more`] : []),
          });
        }
        if (added > 0) get().toast({ kind: 'success', title: added === 1 ? 'Uploaded 1 song to the queue' : `Uploaded ${added} songs to the queue`, lines: skipped ? [`${skipped} other file${skipped === 1 ? '' : 's'} (not audio) left out.`] : undefined });
        return { added, rejected: rejected.length };
      },

      cancelUpload(key) {
        controllers.get(key)?.abort();
        set((s) => ({ uploads: s.uploads.filter((r) => r.key !== key || r.status === 'adding') }));
      },

      async cancel(id) {
        const res = await guarded('Could not cancel', () => api.invoke('jobs:cancel', { id }));
        if (res) upsertJobs([res.job]);
      },

      async retry(id) {
        const res = await guarded('Could not retry', () => api.invoke('jobs:retry', { id }));
        if (res) upsertJobs([res.job]);
      },

      async remove(id, deleteFiles = false) {
        const res = await guarded('Could not remove', () => api.invoke('jobs:remove', { id, deleteFiles }));
        if (!res) return;
        set((s) => {
          const next = { ...s.jobs };
          delete next[id];
          const view = s.view.name === 'player' && s.view.jobId === id ? { name: 'queue' as const } : s.view;
          return { jobs: next, view };
        });
      },

      async reorder(id, beforeId) {
        if (id === beforeId) return;
        const res = await guarded('Could not reorder', () => api.invoke('jobs:reorder', { id, beforeId }));
        if (res) upsertJobs(res.jobs);
      },

      async move(id, delta) {
        const target = moveTarget(queuedInOrder(get().jobs), id, delta);
        if (target) await get().reorder(id, target.beforeId);
      },

      async pauseAll() {
        const queue = await guarded('Could not pause', () => api.invoke('queue:pause', {}));
        if (queue) set({ queue });
      },

      async resumeAll() {
        const queue = await guarded('Could not resume', () => api.invoke('queue:resume', {}));
        if (queue) set({ queue });
      },

      async loadSettings() {
        const settings = await guarded('Could not load settings', () => api.invoke('settings:get', {}));
        if (settings) set({ settings });
        return settings ?? null;
      },

      async saveSettings(patch) {
        const current = get().settings;
        const merged = { ...(current ?? {}), ...patch };
        const parsed = SettingsSchema.safeParse(merged);
        if (!parsed.success) {
          const fieldErrors: Record<string, string> = {};
          for (const issue of parsed.error.issues) {
            const key = String(issue.path[0] ?? '');
            if (!fieldErrors[key]) fieldErrors[key] = issue.message;
          }
          return { ok: false, fieldErrors, message: 'Some settings are not valid; see the highlighted fields.' };
        }
        try {
          const settings = await api.invoke('settings:set', patch);
          set({ settings });
          return { ok: true, settings };
        } catch (e) {
          return { ok: false, fieldErrors: {}, message: errorMessage(e) };
        }
      },

      async loadDiagnostics() {
        const diagnostics = await guarded('Could not load diagnostics', () => api.invoke('diagnostics:get', {}));
        if (diagnostics) set({ diagnostics });
        return diagnostics ?? null;
      },

      navigate(view) {
        set({ view });
      },

      toast(t, ttlMs) {
        const id = ++toastSeq;
        set((s) => ({ toasts: [...s.toasts.slice(-4), { ...t, id }] }));
        const life = ttlMs ?? (t.kind === 'error' ? ttl * 2 : ttl);
        if (life > 0) later(() => get().dismissToast(id), life);
        return id;
      },

      dismissToast(id) {
        set((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) }));
      },

      openMixer(jobId, stems) {
        if (get().mixer.jobId === jobId) return;
        set({ mixer: initialMixer(jobId, stems) });
      },

      toggleMute(stem) {
        set((s) => updateTrack(s.mixer, stem, (t) => ({ ...t, muted: !t.muted })));
      },

      toggleSolo(stem) {
        set((s) => updateTrack(s.mixer, stem, (t) => ({ ...t, solo: !t.solo })));
      },

      setVolume(stem, volume) {
        set((s) => updateTrack(s.mixer, stem, (t) => ({ ...t, volume: clamp01(volume) })));
      },
    };
  });
}

function updateTrack(m: MixerState, stem: string, f: (t: MixerState['tracks'][string]) => MixerState['tracks'][string]) {
  const t = m.tracks[stem];
  if (!t) return {};
  return { mixer: { ...m, tracks: { ...m.tracks, [stem]: f(t) } } };
}
