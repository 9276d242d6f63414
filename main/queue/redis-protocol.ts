/**
 * What travels through BullMQ between a submitter (RedisQueue) and `demix worker` processes.
 * Paths are the submitter's; a worker maps them with --path-map and maps results back.
 */
import type { JobOptions, Stem } from '../../preload/contract.ts';

export interface RemoteJobData {
  /** The submitter's local job id. */
  id: string;
  name: string;
  inputPath: string;
  outputDir: string;
  options: JobOptions;
  /** Only this span (seconds) of the input. */
  excerpt?: { startSec: number; endSec: number } | null;
  submittedFrom: string;
}

export interface RemoteProgress {
  fraction: number;
  segmentsDone: number;
  segmentsTotal: number;
  etaSec: number | null;
  host: string;
  provider: string | null;
}

export interface RemoteResult {
  stems: Stem[];
  durationSec: number;
  provider: string;
  host: string;
  /** Why the job's provider was not the one asked for, or failed mid-job and the CPU finished. */
  fallbackReason?: string | null;
  /** Tempo/beats/key from the engine (as local jobs get them). */
  analysis?: { bpm: number | null; key: string | null; keyConfidence: number | null; beats: number[]; downbeat: number | null } | null;
}

/** BullMQ job id of a local job's n-th submission: `<local id>-<n>` (local ids never contain '-'). */
export function remoteIdFor(localId: string, n: number): string {
  return `${localId}-${n}`;
}
export function localIdOf(remoteId: string): string {
  const i = remoteId.lastIndexOf('-');
  return i > 0 ? remoteId.slice(0, i) : remoteId;
}
export function nextRemoteId(localId: string, current: string | null): string {
  const n = current ? Number(current.slice(current.lastIndexOf('-') + 1)) : 0;
  return remoteIdFor(localId, (Number.isFinite(n) ? n : 0) + 1);
}

/** Local priority (higher runs first, default 0) → BullMQ priority (lower runs first, 1..2^21). */
export function bullPriority(local: number): number {
  return Math.max(1, Math.min(2_097_151, 1_000_000 - local));
}

/** Failure reasons carry the job error as `CODE: message`. */
export function encodeError(code: string, message: string): string {
  return `${code}: ${message}`;
}
export function decodeError(reason: string | undefined | null): { code: string; message: string } {
  const r = reason ?? '';
  const m = /^([A-Z][A-Z0-9_]+): (.*)$/s.exec(r);
  if (m) return { code: m[1], message: m[2] };
  if (/stalled more than allowable limit/i.test(r)) {
    return { code: 'WORKER_LOST', message: 'The workers running this job stopped several times (killed or lost Redis); retry it.' };
  }
  return { code: 'INTERNAL', message: r || 'The job failed on a worker.' };
}

/** --path-map FROM=TO: the submitter's path prefix FROM is TO on this worker. */
export type PathMap = [from: string, to: string][];

export function parsePathMap(items: string[]): PathMap {
  return items.map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new Error(`--path-map "${s}" must look like FROM=TO (e.g. /mnt/music=/Volumes/music)`);
    return [s.slice(0, i).replace(/\/+$/, ''), s.slice(i + 1).replace(/\/+$/, '')];
  });
}

function mapWith(p: string, pairs: PathMap, dir: 0 | 1): string {
  for (const pair of pairs) {
    const from = pair[dir];
    const to = pair[1 - dir];
    if (p === from) return to;
    if (p.startsWith(`${from}/`) || p.startsWith(`${from}\\`)) return to + p.slice(from.length);
  }
  return p;
}
/** Submitter path → this worker's path. */
export const toWorkerPath = (p: string, m: PathMap) => mapWith(p, m, 0);
/** This worker's path → submitter path. */
export const toSubmitterPath = (p: string, m: PathMap) => mapWith(p, m, 1);
