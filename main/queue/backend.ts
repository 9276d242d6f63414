/**
 * What the embedded queue's worker pool (pool.ts) needs from the store it runs jobs from: claim,
 * progress, complete/fail. Implemented by the SQLite job store (sqlite-backend.ts). The queue
 * interface everything above uses is JobQueue (queue.ts).
 */
import type { Job, JobError, JobStatus, Stem } from '../../preload/contract.ts';
import type { JobAnalysis } from '../store/job-store.ts';

export interface ProgressUpdate {
  progress: number;
  segmentsDone: number;
  segmentsTotal: number;
  etaSec: number | null;
  /** Frames per stem already final (progressive output). */
  readySamples?: number | null;
}

export interface CompleteResult {
  stems: Stem[];
  durationSec: number;
  provider: string | null;
  /** Tempo/beats/key of the song (engine/analysis), when the engine produced them. */
  analysis?: JobAnalysis | null;
}

export interface QueueBackend {
  /** Takes the next queued job and marks it running, or null when none is waiting. */
  claim(): Job | null;
  /** Persists progress; false when the job is no longer running (canceled or removed elsewhere). */
  progress(id: string, p: ProgressUpdate): boolean;
  complete(id: string, result: CompleteResult): Job | null;
  fail(id: string, error: JobError): Job | null;
  /** queued|running → canceled; null when the job was in neither state. */
  cancel(id: string): Job | null;
  /** Current status (null when the job no longer exists). */
  status(id: string): JobStatus | null;
  /** running → queued for the given jobs (crash recovery and graceful shutdown). */
  requeue(id: string): Job | null;
  /**
   * Refreshes the heartbeat of this runner's running jobs; returns the ids it no longer owns
   * (another runner took them over): the pool stops those at once without touching their state.
   */
  heartbeat?(ids: string[]): string[];
}
