/**
 * Following work done by other processes on the same database (another runner, a CLI adding or
 * canceling jobs): every `pollMs`, when SQLite's `data_version` says another connection
 * committed since the last look, compare a cheap signature of each active job (one indexed
 * query over a few columns, no JSON, no stems) with what this process last saw, and emit
 * `job-updated` / `job-removed` only for the jobs that changed. Loading every active job in
 * full each tick stalled the core for hundreds of milliseconds with 2,000 jobs queued.
 */
import type Database from 'better-sqlite3';
import type { Job } from '../preload/contract.ts';
import type { Bus } from './bus.ts';
import type { JobStore } from './store/job-store.ts';

interface SigRow {
  id: string;
  status: string;
  progress: number;
  segmentsDone: number;
  provider: string | null;
  priority: number;
}

const sigOf = (j: Pick<SigRow, 'status' | 'progress' | 'segmentsDone' | 'provider' | 'priority'>) =>
  `${j.status}|${Math.min(1, Math.max(0, j.progress))}|${j.segmentsDone}|${j.provider}|${j.priority}`;

const COLUMNS = `id, status, progress, segments_done as segmentsDone, provider, priority`;

export interface Observer {
  /** One comparison pass (also run by the timer). */
  tick(): void;
  close(): void;
}

export function createObserver(deps: {
  sqlite: Database.Database;
  store: JobStore;
  bus: Bus;
  /** Jobs this process runs itself: their progress events come from the pool. */
  isRunningHere(id: string): boolean;
  pollMs: number;
  /** Runs first on every tick, whatever data_version says (e.g. time-based checks). */
  onTick?: () => void;
}): Observer {
  const { sqlite, store, bus } = deps;
  const seen = new Map<string, string>();
  const offUpdated = bus.on('job-updated', (j: Job) => {
    if (j.status === 'queued' || j.status === 'running') seen.set(j.id, sigOf(j));
    else seen.delete(j.id);
  });
  const offRemoved = bus.on('job-removed', ({ id }) => seen.delete(id));
  const active = sqlite.prepare(`select ${COLUMNS} from jobs where status in ('queued', 'running')`);
  const one = sqlite.prepare(`select ${COLUMNS} from jobs where id = ?`);
  // Changes only when another connection commits: nothing to compare otherwise.
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  let lastVersion: unknown = null;
  let closed = false;

  const tick = () => {
    if (closed) return;
    try {
      deps.onTick?.();
      const v = dataVersion.get();
      if (v === lastVersion) return;
      lastVersion = v;
      const rows = active.all() as SigRow[];
      const current = new Map<string, SigRow>();
      for (const r of rows) current.set(r.id, r);
      // Jobs this process saw active that are no longer: finished or removed elsewhere.
      const gone: string[] = [];
      for (const id of seen.keys()) {
        if (current.has(id)) continue;
        const r = one.get(id) as SigRow | undefined;
        if (r) current.set(id, r);
        else gone.push(id);
      }
      const changed: string[] = [];
      for (const r of current.values()) {
        if (deps.isRunningHere(r.id)) continue;
        if (seen.get(r.id) !== sigOf(r)) changed.push(r.id);
      }
      if (changed.length) for (const j of store.getMany(changed)) bus.emit('job-updated', j);
      for (const id of gone) bus.emit('job-removed', { id });
    } catch {
      // busy or closing: next tick
    }
  };
  tick();
  const timer = setInterval(tick, deps.pollMs);
  timer.unref();
  return {
    tick,
    close() {
      closed = true;
      clearInterval(timer);
      offUpdated();
      offRemoved();
    },
  };
}
