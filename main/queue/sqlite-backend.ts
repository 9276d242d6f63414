import type { Job, JobError, JobStatus } from '../../preload/contract.ts';
import type { Bus } from '../bus.ts';
import type { JobStore } from '../store/job-store.ts';
import type { CompleteResult, ProgressUpdate, QueueBackend } from './backend.ts';

/** The local queue backend: the SQLite job store. */
export class SqliteQueueBackend implements QueueBackend {
  constructor(
    private readonly store: JobStore,
    readonly events: Bus,
  ) {}

  claim(): Job | null {
    return this.store.claimNext();
  }
  progress(id: string, p: ProgressUpdate): boolean {
    return this.store.saveProgress(id, p);
  }
  complete(id: string, result: CompleteResult): Job | null {
    return this.store.complete(id, result);
  }
  fail(id: string, error: JobError): Job | null {
    return this.store.fail(id, error);
  }
  cancel(id: string): Job | null {
    return this.store.transition(id, ['queued', 'running'], 'canceled', { finishedAt: Date.now(), etaSec: null });
  }
  status(id: string): JobStatus | null {
    return this.store.row(id)?.status ?? null;
  }
  requeue(id: string): Job | null {
    return this.store.transition(id, ['running'], 'queued', { progress: 0, segmentsDone: 0, etaSec: null, startedAt: null });
  }
}
