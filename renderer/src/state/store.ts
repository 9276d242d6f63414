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

  /** Loads jobs and queue state and subscribes to events; returns the unsubscribe function. */
  start(): Promise<() => void>;
  addPaths(paths: string[]): Promise<{ added: number; rejected: number }>;
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

      async start() {
        // Subscribe first so nothing is missed; ids touched by events win over the (older) list.
        const touched = new Set<string>();
        const offs = [
          api.on('job-updated', (job) => {
            touched.add(job.id);
            upsertJobs([job]);
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
