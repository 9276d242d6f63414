import type { Job, JobError, JobStatus } from '../../preload/contract.ts';
import type { JobStore } from '../store/job-store.ts';
import type { CompleteResult, ProgressUpdate, QueueBackend } from './backend.ts';

/** The local queue backend: the SQLite job store. */
export class SqliteQueueBackend implements QueueBackend {
  /**
   * @param owner the runner's owner token (its runner lock's): running jobs it claims are recorded
   *   as its own, and its progress/complete/fail only apply while it still owns the job.
   */
  constructor(
    private readonly store: JobStore,
    private readonly owner: string | null = null,
  ) {}

  claim(): Job | null {
    return this.store.claimNext(this.owner);
  }
  progress(id: string, p: ProgressUpdate): boolean {
    return this.store.saveProgress(id, p, this.owner);
  }
  complete(id: string, result: CompleteResult): Job | null {
    return this.store.complete(id, result, this.owner);
  }
  fail(id: string, error: JobError): Job | null {
    return this.store.fail(id, error, ['running'], this.owner);
  }
  cancel(id: string): Job | null {
    return this.store.transition(id, ['queued', 'running'], 'canceled', { finishedAt: Date.now(), etaSec: null, ownerId: null, heartbeatAt: null });
  }
  status(id: string): JobStatus | null {
    return this.store.row(id)?.status ?? null;
  }
  requeue(id: string): Job | null {
    return this.store.requeue(id, this.owner);
  }
  /** Refreshes this runner's running jobs' heartbeats; returns the ids it no longer owns. */
  heartbeat(ids: string[]): string[] {
    return this.owner ? this.store.heartbeat(this.owner, ids) : [];
  }
}
