/**
 * The one queue interface that the core, the CLI and the bridge use for every queue operation.
 * Two implementations:
 *   - EmbeddedQueue (embedded-queue.ts): SQLite rows + engine worker threads in this process (default);
 *   - RedisQueue (redis-queue.ts): BullMQ on Redis, run by `demix worker` processes on any machine.
 * In both cases the local SQLite job store keeps the history and the UI's view (remote states are
 * mirrored into it), so nothing above this interface knows which one runs.
 *
 * It speaks the contract's types (Job, JobOptions), never database rows.
 */
import type { Batch, Job, JobOptions } from '../../preload/contract.ts';
import type { LockHolder } from './lock.ts';
import { optionsKey, type NewBatchRow, type NewJobRow } from '../store/job-store.ts';

/** A job to add (built by the jobs service). */
export interface EnqueueJob {
  id: string;
  name: string;
  inputPath: string;
  inputSize: number | null;
  inputMtimeMs: number | null;
  options: JobOptions;
  createdAt: number;
  /** The output root the user chose, and the exact folder this job's stems go to. */
  outputRoot: string;
  outputDir: string;
  batchId: string | null;
  relativePath: string | null;
  /** Higher runs first (default 0). */
  priority?: number;
  /** Only this span (seconds) of the input. */
  excerpt?: { startSec: number; endSec: number } | null;
  /** Uploaded through the bridge: the original is deleted with the job (its content hash is known). */
  uploaded?: boolean;
  inputHash?: string | null;
}

/** A folder added as one batch. */
export interface EnqueueBatch {
  id: string;
  sourceFolder: string;
  outputDir: string;
  total: number;
  skipped: number;
  createdAt: number;
}

export interface JobQueue {
  readonly kind: 'embedded' | 'redis';
  /** Where the queue lives, for messages (never a password). */
  readonly where: string;
  /** Adds jobs (and their batch) atomically to the local store, then to the queue. */
  enqueue(batch: EnqueueBatch | null, jobs: EnqueueJob[]): { jobs: Job[]; batch: Batch | null };
  /** queued|running → canceled, and stops the run wherever it runs; null when it was in neither state. */
  cancel(id: string): Job | null;
  /** failed|canceled → queued; null when it was in neither state. */
  retry(id: string): Job | null;
  /** Moves a queued job before another (or to the end); returns the queued jobs in run order. */
  reorder(id: string, beforeId: string | null): Job[];
  /** Cancels a job that is about to be removed and waits until its run stopped (no-op when it is not queued/running). */
  forget(id: string): Promise<void>;
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Engine workers serving this queue (threads here, or `demix worker` processes on Redis). */
  workers(): number;
  /** A running job with fresher progress than the store's (null when none is known here). */
  live(id: string): Job | null;
  /** Execution providers in use. */
  providers(): string[];
  /** Why requested GPU providers were not used (one line each). */
  fallbackReasons(): string[];
  /** How the CPU is shared (Diagnostics.workers); null when the jobs run elsewhere. */
  plan(): { concurrency: number; workers: number; cores: number; threadsPerWorker: number; note: string | null } | undefined;
  /** New work or changed settings: look for jobs to start. */
  pump(): void;
  /** Periodic housekeeping (the core's poll): e.g. requeue running jobs whose runner died. */
  maintain(): void;
  /** Who runs the jobs of this database (the single-runner lock of the embedded queue). */
  isRunner(): boolean;
  holder(): LockHolder | null;
  /** Stops running/following; running jobs go back to queued (embedded) or keep running remotely. */
  close(): Promise<void>;
}

/** Job and batch rows for the local store (the only place that knows the columns). */
export function toRows(batch: EnqueueBatch | null, jobs: EnqueueJob[], extra: (j: EnqueueJob) => Partial<NewJobRow> = () => ({})) {
  const b: NewBatchRow | null = batch ? { ...batch } : null;
  const rows: NewJobRow[] = jobs.map((j) => ({
    id: j.id,
    name: j.name,
    inputPath: j.inputPath,
    inputSize: j.inputSize,
    inputMtimeMs: j.inputMtimeMs === null ? null : Math.round(j.inputMtimeMs),
    modelId: j.options.modelId,
    options: JSON.stringify(j.options),
    optionsKey: optionsKey(j.options),
    status: 'queued',
    createdAt: j.createdAt,
    outputRoot: j.outputRoot,
    outputDir: j.outputDir,
    batchId: j.batchId,
    relativePath: j.relativePath,
    priority: j.priority ?? 0,
    excerptStart: j.excerpt?.startSec ?? null,
    excerptEnd: j.excerpt?.endSec ?? null,
    ...(j.uploaded ? { uploaded: true, inputHash: j.inputHash ?? null } : {}),
    ...extra(j),
  }));
  return { batch: b, rows };
}

/** The queue URL chosen: --queue, then DEMIX_QUEUE, then the app setting; null = embedded. */
export function chooseQueueUrl(flag: string | undefined | null, setting: string | null | undefined): string | null {
  const v = (flag ?? process.env.DEMIX_QUEUE ?? setting ?? '').trim();
  if (!v || v === 'embedded' || v === 'sqlite' || v === 'local') return null;
  return v;
}
