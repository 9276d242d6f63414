/**
 * Pure functions that turn the job/batch maps into what the queue screen shows: jobs in queue
 * order (running, then queued in run order, then finished newest first), grouped under their
 * batch folder.
 */
import type { Batch, Job, JobStatus } from '../../../preload/contract.ts';

const RANK: Record<JobStatus, number> = { running: 0, queued: 1, failed: 2, canceled: 2, done: 2 };

/** Comparator for queue order. Queued jobs: higher priority first, then oldest first. */
export function compareJobs(a: Job, b: Job): number {
  const r = RANK[a.status] - RANK[b.status];
  if (r !== 0) return r;
  if (a.status === 'running') return (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.createdAt - b.createdAt;
  if (a.status === 'queued') return b.priority - a.priority || a.createdAt - b.createdAt || a.id.localeCompare(b.id);
  return (b.finishedAt ?? b.createdAt) - (a.finishedAt ?? a.createdAt) || a.id.localeCompare(b.id);
}

export function sortJobs(jobs: Iterable<Job>): Job[] {
  return [...jobs].sort(compareJobs);
}

export type QueueItem =
  | { kind: 'job'; job: Job }
  | { kind: 'batch'; batch: Batch | null; batchId: string; jobs: Job[] };

/**
 * Top-level items: standalone jobs, and batches holding their jobs. A batch sits where its
 * first job (in queue order) would sit.
 */
export function groupQueue(jobs: Record<string, Job>, batches: Record<string, Batch>): QueueItem[] {
  const sorted = sortJobs(Object.values(jobs));
  const items: QueueItem[] = [];
  const byBatch = new Map<string, Extract<QueueItem, { kind: 'batch' }>>();
  for (const job of sorted) {
    if (!job.batchId) {
      items.push({ kind: 'job', job });
      continue;
    }
    let group = byBatch.get(job.batchId);
    if (!group) {
      group = { kind: 'batch', batch: batches[job.batchId] ?? null, batchId: job.batchId, jobs: [] };
      byBatch.set(job.batchId, group);
      items.push(group);
    }
    group.jobs.push(job);
  }
  return items;
}

/** The queued jobs in run order (what reordering acts on). */
export function queuedInOrder(jobs: Record<string, Job>): Job[] {
  return sortJobs(Object.values(jobs).filter((j) => j.status === 'queued'));
}

/**
 * Where to move `id` so that it ends up one step earlier (-1) or later (+1) among `siblings`
 * (queued jobs in run order). Returns the `beforeId` for `jobs:reorder`, or undefined when the
 * job cannot move that way.
 */
export function moveTarget(siblings: Job[], id: string, delta: -1 | 1): { beforeId: string | null } | undefined {
  const i = siblings.findIndex((j) => j.id === id);
  if (i < 0) return undefined;
  if (delta === -1) {
    if (i === 0) return undefined;
    return { beforeId: siblings[i - 1].id };
  }
  if (i === siblings.length - 1) return undefined;
  // Moving down one = placing it before the job two places further (or at the end).
  return { beforeId: i + 2 < siblings.length ? siblings[i + 2].id : null };
}

/** Batch counters as the screen shows them; computed from the jobs when main has not sent the batch yet. */
export function batchCounts(batch: Batch | null, jobs: Job[]): { total: number; done: number; failed: number; active: number } {
  const done = jobs.filter((j) => j.status === 'done').length;
  const failed = jobs.filter((j) => j.status === 'failed').length;
  const active = jobs.filter((j) => j.status === 'queued' || j.status === 'running').length;
  if (!batch) return { total: jobs.length, done, failed, active };
  return { total: Math.max(batch.total, jobs.length), done: Math.max(batch.done, done), failed: Math.max(batch.failed, failed), active };
}
