/**
 * The durable job store. Every status transition is one SQL UPDATE guarded by the expected
 * previous status, followed by one `job-updated` event on the bus (and `batch-updated` when the
 * job belongs to a batch).
 */
import fs from 'node:fs';
import path from 'node:path';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Batch, Job, JobError, JobOptions, JobStatus, Stem } from '../../preload/contract.ts';
import type { Bus } from '../bus.ts';
import { CoreError } from '../core-error.ts';
import type { Db } from './db.ts';
import { batches, jobs, stems } from './schema.ts';

type JobRow = typeof jobs.$inferSelect;
type StemRow = typeof stems.$inferSelect;
export type NewJobRow = typeof jobs.$inferInsert;
export type NewBatchRow = typeof batches.$inferInsert;

/** Options that change the output bytes: the cache/skip key (device does not). */
export function optionsKey(o: JobOptions): string {
  return JSON.stringify([o.modelId, o.format, o.bits, o.clipMode, o.twoStems, o.shifts]);
}

export function stemRowToStem(s: StemRow): Stem {
  return { name: s.name, path: s.path, format: s.format, durationSec: s.durationSec };
}

/** The analysis fields of a job (stored in jobs.bpm, musical_key, key_confidence, beats). */
export interface JobAnalysis {
  bpm: number | null;
  key: string | null;
  keyConfidence: number | null;
  beats: number[];
  downbeat: number | null;
}

/** jobs.beats holds `{"t":[seconds…],"d":downbeat|null}`; anything else reads as no grid. */
export function encodeBeats(a: JobAnalysis): string | null {
  return a.beats.length ? JSON.stringify({ t: a.beats, d: a.downbeat }) : null;
}
export function decodeBeats(text: string | null | undefined): { beats: number[]; downbeat: number | null } | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as { t?: unknown; d?: unknown };
    if (!Array.isArray(v.t) || !v.t.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) return null;
    return { beats: v.t as number[], downbeat: typeof v.d === 'number' && Number.isFinite(v.d) && v.d >= 0 ? v.d : null };
  } catch {
    return null;
  }
}

/** Store columns for an analysis (all null when there is none). */
export function analysisColumns(a: JobAnalysis | null | undefined): Pick<JobRow, 'bpm' | 'musicalKey' | 'keyConfidence' | 'beats'> {
  if (!a) return { bpm: null, musicalKey: null, keyConfidence: null, beats: null };
  const bpm = a.bpm !== null && Number.isFinite(a.bpm) && a.bpm > 0 ? a.bpm : null;
  const conf = a.keyConfidence !== null && Number.isFinite(a.keyConfidence) ? Math.min(1, Math.max(0, a.keyConfidence)) : null;
  return { bpm, musicalKey: a.key, keyConfidence: a.key ? conf : null, beats: encodeBeats(a) };
}

export function rowToJob(r: JobRow, stemRows: StemRow[]): Job {
  const grid = decodeBeats(r.beats);
  return {
    id: r.id,
    name: r.name,
    inputPath: r.inputPath,
    batchId: r.batchId,
    relativePath: r.relativePath,
    options: JSON.parse(r.options) as JobOptions,
    status: r.status,
    progress: Math.min(1, Math.max(0, r.progress)),
    segmentsDone: r.segmentsDone,
    segmentsTotal: r.segmentsTotal,
    etaSec: r.etaSec,
    provider: r.provider,
    fallbackReason: r.fallbackReason ?? null,
    bpm: r.bpm ?? null,
    key: r.musicalKey ?? null,
    keyConfidence: r.keyConfidence ?? null,
    beats: grid?.beats ?? null,
    downbeat: grid?.downbeat ?? null,
    error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? r.errorCode } : null,
    priority: r.priority,
    outputDir: r.outputDir,
    durationSec: r.durationSec,
    stems: stemRows.filter((s) => s.kind === 'stem').map(stemRowToStem),
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    workerHost: r.workerHost ?? null,
    readySamples: r.status === 'running' ? (r.readySamples ?? null) : null,
    excerpt: r.excerptStart != null && r.excerptEnd != null ? { startSec: r.excerptStart, endSec: r.excerptEnd } : null,
  };
}

function rowToBatch(r: typeof batches.$inferSelect, canceled: number): Batch {
  return { ...r, canceled };
}

/** Fields a transition may set besides the status. */
export type JobPatch = Partial<
  Pick<
    JobRow,
    | 'progress'
    | 'segmentsDone'
    | 'segmentsTotal'
    | 'etaSec'
    | 'provider'
    | 'errorCode'
    | 'errorMessage'
    | 'startedAt'
    | 'finishedAt'
    | 'durationSec'
    | 'inputHash'
    | 'priority'
    | 'attempts'
    | 'readySamples'
    | 'ownerId'
    | 'heartbeatAt'
    | 'fallbackReason'
  >
>;

/** Progress, error and timing fields of a run that has not started yet (claim and retry reset them). */
export const FRESH_RUN = {
  progress: 0,
  segmentsDone: 0,
  segmentsTotal: 0,
  etaSec: null,
  errorCode: null,
  errorMessage: null,
  startedAt: null,
  finishedAt: null,
  readySamples: null,
} satisfies JobPatch;

const STATUSES = new Set<string>(['queued', 'running', 'done', 'failed', 'canceled']);

const JOB_COLUMNS = `id, name, input_path as inputPath, input_hash as inputHash, input_size as inputSize,
  input_mtime_ms as inputMtimeMs, model_id as modelId, options, options_key as optionsKey, status, progress,
  segments_done as segmentsDone, segments_total as segmentsTotal, eta_sec as etaSec, provider,
  error_code as errorCode, error_message as errorMessage, priority, attempts, created_at as createdAt,
  started_at as startedAt, finished_at as finishedAt, output_root as outputRoot, output_dir as outputDir,
  batch_id as batchId, relative_path as relativePath, duration_sec as durationSec, fallback_reason as fallbackReason,
  worker_host as workerHost, remote_id as remoteId, ready_samples as readySamples, excerpt_start as excerptStart,
  excerpt_end as excerptEnd, bpm, musical_key as musicalKey, key_confidence as keyConfidence, beats, input_peaks as inputPeaks`;
const STEM_COLUMNS = `id, job_id as jobId, name, kind, path, format, duration_sec as durationSec, peaks`;
/** Without the cached peaks blobs (listing thousands of jobs must not read megabytes of waveforms). */
const JOB_COLUMNS_LIGHT = JOB_COLUMNS.replace(', input_peaks as inputPeaks', ', null as inputPeaks');
const STEM_COLUMNS_LIGHT = STEM_COLUMNS.replace(', peaks', ', null as peaks');
/** Queue order: running, then queued as they will run, then finished newest first. */
const LIST_ORDER = `case status when 'running' then 0 when 'queued' then 1 else 2 end,
  case when status = 'queued' then -priority else 0 end,
  case when status = 'queued' then created_at else -coalesce(finished_at, created_at) end, id`;

export class JobStore {
  constructor(
    readonly db: Db,
    private readonly bus: Bus,
  ) {}

  // ------------------------------------------------------------------------------------------
  // Reads
  // ------------------------------------------------------------------------------------------

  // Hot paths (every claim/transition) use cached raw prepared statements: drizzle's query
  // building costs more than the query itself here.
  row(id: string): JobRow | undefined {
    return this.stmt(`select ${JOB_COLUMNS} from jobs where id = ?`).get(id) as JobRow | undefined;
  }

  find(id: string): Job | null {
    const r = this.row(id);
    if (!r) return null;
    return rowToJob(r, this.stemRows(id));
  }

  get(id: string): Job {
    const j = this.find(id);
    if (!j) throw new CoreError('NOT_FOUND', `No job with id ${id}.`);
    return j;
  }

  /** Jobs by id (missing ids are left out), in the order given. */
  getMany(ids: string[]): Job[] {
    if (!ids.length) return [];
    const rows = this.stmt(`select ${JOB_COLUMNS_LIGHT} from jobs where id in (select value from json_each(?))`).all(JSON.stringify(ids)) as JobRow[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const stemMap = this.stemsFor(rows.map((r) => r.id));
    return ids.filter((id) => byId.has(id)).map((id) => rowToJob(byId.get(id)!, stemMap.get(id) ?? []));
  }

  private stemsFor(ids: string[]): Map<string, StemRow[]> {
    const out = new Map<string, StemRow[]>();
    if (!ids.length) return out;
    const rows = this.stmt(
      `select ${STEM_COLUMNS_LIGHT} from stems where kind = 'stem' and job_id in (select value from json_each(?)) order by id`,
    ).all(JSON.stringify(ids)) as StemRow[];
    for (const s of rows) {
      const list = out.get(s.jobId);
      if (list) list.push(s);
      else out.set(s.jobId, [s]);
    }
    return out;
  }

  /**
   * Jobs in queue order: running first, then queued in the order they will run, then finished
   * jobs newest first.
   */
  list(req: { status?: JobStatus[]; limit: number; offset: number }): { jobs: Job[]; total: number } {
    const statuses = (req.status ?? []).filter((x) => STATUSES.has(x));
    const where = statuses.length ? `where status in (${statuses.map(() => '?').join(', ')})` : '';
    const total = (this.stmt(`select count(*) as n from jobs ${where}`).get(...statuses) as { n: number }).n;
    const rows = this.stmt(`select ${JOB_COLUMNS_LIGHT} from jobs ${where} order by ${LIST_ORDER} limit ? offset ?`).all(
      ...statuses,
      req.limit,
      req.offset,
    ) as JobRow[];
    const stemMap = this.stemsFor(rows.map((r) => r.id));
    return { jobs: rows.map((r) => rowToJob(r, stemMap.get(r.id) ?? [])), total };
  }

  /** Queued jobs in run order (priority desc, then creation). */
  queuedOrder(): JobRow[] {
    return this.db
      .select()
      .from(jobs)
      .where(eq(jobs.status, 'queued'))
      .orderBy(desc(jobs.priority), asc(jobs.createdAt), asc(jobs.id))
      .all();
  }

  counts(): Record<JobStatus, number> {
    const rows = this.db.select({ status: jobs.status, n: sql<number>`count(*)` }).from(jobs).groupBy(jobs.status).all();
    const out: Record<JobStatus, number> = { queued: 0, running: 0, done: 0, failed: 0, canceled: 0 };
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  batches(ids?: string[]): Batch[] {
    if (ids && ids.length === 0) return [];
    const q = this.db.select().from(batches);
    const rows = ids ? q.where(inArray(batches.id, ids.slice(0, 10_000))).all() : q.orderBy(desc(batches.createdAt)).all();
    const canceled = new Map<string, number>();
    if (rows.length) {
      const counted = ids
        ? this.db
            .select({ b: jobs.batchId, n: sql<number>`count(*)` })
            .from(jobs)
            .where(and(eq(jobs.status, 'canceled'), inArray(jobs.batchId, rows.map((r) => r.id))))
            .groupBy(jobs.batchId)
            .all()
        : this.db.select({ b: jobs.batchId, n: sql<number>`count(*)` }).from(jobs).where(eq(jobs.status, 'canceled')).groupBy(jobs.batchId).all();
      for (const c of counted) if (c.b) canceled.set(c.b, c.n);
    }
    return rows.map((r) => rowToBatch(r, canceled.get(r.id) ?? 0));
  }

  batch(id: string): Batch | null {
    const r = this.db.select().from(batches).where(eq(batches.id, id)).get();
    return r ? rowToBatch(r, this.canceledIn(id)) : null;
  }

  /** Whether p is exactly a job's input, output folder, or one of its stem/mixdown files. */
  ownsPath(p: string): boolean {
    return !!this.stmt(`select 1 from jobs where input_path = @p or output_dir = @p union all select 1 from stems where path = @p limit 1`).get({ p });
  }

  private canceledIn(batchId: string): number {
    return (this.stmt(`select count(*) from jobs where batch_id = ? and status = 'canceled'`).pluck().get(batchId) as number) ?? 0;
  }

  stemRows(jobId: string): StemRow[] {
    return this.stmt(`select ${STEM_COLUMNS} from stems where job_id = ? order by id`).all(jobId) as StemRow[];
  }

  // ------------------------------------------------------------------------------------------
  // Inserts
  // ------------------------------------------------------------------------------------------

  /** Inserts a batch (optional) and its jobs in one transaction, then emits their events. */
  insert(batch: NewBatchRow | null, rows: NewJobRow[]): { jobs: Job[]; batch: Batch | null } {
    // A raw prepared statement: drizzle's query building costs ~0.3 ms per row, too much for 1,000-file folders.
    const ins = this.stmt(
      `insert into jobs (id, name, input_path, input_size, input_mtime_ms, model_id, options, options_key, status, priority,
        created_at, output_root, output_dir, batch_id, relative_path, uploaded, input_hash, excerpt_start, excerpt_end, remote_id)
       values (@id, @name, @inputPath, @inputSize, @inputMtimeMs, @modelId, @options, @optionsKey, @status, @priority,
        @createdAt, @outputRoot, @outputDir, @batchId, @relativePath, @uploaded, @inputHash, @excerptStart, @excerptEnd, @remoteId)`,
    );
    this.db.transaction((tx) => {
      if (batch) tx.insert(batches).values(batch).run();
      for (const r of rows) {
        ins.run({
          inputSize: null,
          inputMtimeMs: null,
          priority: 0,
          batchId: null,
          relativePath: null,
          excerptStart: null,
          excerptEnd: null,
          inputHash: null,
          remoteId: null,
          ...r,
          uploaded: r.uploaded ? 1 : 0,
        });
      }
    });
    const out = rows.map((r) => rowToJob({ ...emptyRow(), ...r } as JobRow, []));
    for (const j of out) this.bus.emit('job-updated', j);
    const b = batch ? this.batch(batch.id) : null;
    if (b) this.bus.emit('batch-updated', b);
    return { jobs: out, batch: b };
  }

  // ------------------------------------------------------------------------------------------
  // Transitions: one guarded UPDATE + one event
  // ------------------------------------------------------------------------------------------

  /**
   * Moves a job from one of `from` to `to`; returns the updated job, or null when the job was not
   * in an expected state (nothing changed, no event).
   */
  transition(id: string, from: JobStatus[], to: JobStatus, patch: JobPatch = {}, guard: { ownerId?: string } = {}): Job | null {
    const keys = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined) as (keyof JobPatch)[];
    const sets = keys.map((k) => `${jobs[k].name} = @${k}`);
    const res = this.stmt(
      `update jobs set ${[...sets, 'status = @to'].join(', ')} where id = @id and status in (${from.map((f) => `'${f}'`).join(', ')})${guard.ownerId ? ' and owner_id = @guardOwner' : ''}`,
    ).run({ ...Object.fromEntries(keys.map((k) => [k, patch[k]])), to, id, ...(guard.ownerId ? { guardOwner: guard.ownerId } : {}) });
    if (res.changes !== 1) return null;
    const job = this.get(id);
    this.bus.emit('job-updated', job);
    if (job.batchId) this.refreshBatch(job.batchId);
    return job;
  }

  /** Claims the next queued job (highest priority, oldest), marking it running and owned by `ownerId` (the runner). */
  claimNext(ownerId: string | null = null): Job | null {
    const next = this.stmt(`select id, attempts from jobs where status = 'queued' order by priority desc, created_at, id limit 8`);
    for (;;) {
      const candidates = next.all() as { id: string; attempts: number }[];
      if (!candidates.length) return null;
      for (const c of candidates) {
        const job = this.transition(c.id, ['queued'], 'running', {
          ...FRESH_RUN,
          startedAt: Date.now(),
          attempts: c.attempts + 1,
          ownerId,
          heartbeatAt: Date.now(),
        });
        if (job) return job;
      }
    }
  }

  /** Persists progress of a running job; false when the job is no longer running (e.g. canceled elsewhere). */
  saveProgress(id: string, p: { progress: number; segmentsDone: number; segmentsTotal: number; etaSec: number | null; readySamples?: number | null }, ownerId: string | null = null): boolean {
    const res = this.stmt(
      `update jobs set progress = ?, segments_done = ?, segments_total = ?, eta_sec = ?, ready_samples = ? where id = ? and status = 'running' and (? is null or owner_id = ?)`,
    ).run(p.progress, p.segmentsDone, p.segmentsTotal, p.etaSec, p.readySamples ?? null, id, ownerId, ownerId);
    return res.changes === 1;
  }

  setInputHash(id: string, hash: string): void {
    this.db.update(jobs).set({ inputHash: hash }).where(eq(jobs.id, id)).run();
  }

  setProvider(id: string, provider: string, fallbackReason: string | null = null): void {
    this.db.update(jobs).set({ provider, fallbackReason }).where(eq(jobs.id, id)).run();
  }

  /** Distributed queue: the job's id in the remote queue (BullMQ). */
  setRemoteId(id: string, remoteId: string | null): void {
    this.stmt('update jobs set remote_id = ? where id = ?').run(remoteId, id);
  }

  /** Distributed queue: the worker host (and provider, once known) of a running or finished job. */
  setWorker(id: string, host: string | null, provider: string | null): void {
    this.stmt('update jobs set worker_host = ?, provider = coalesce(?, provider) where id = ?').run(host, provider, id);
  }

  /** Local jobs mirrored from a remote queue: id, status and remote id of the queued and running ones. */
  remoteActive(): { id: string; status: JobStatus; remoteId: string | null; attempts: number }[] {
    return this.stmt(`select id, status, remote_id as remoteId, attempts from jobs where status in ('queued', 'running')`).all() as {
      id: string;
      status: JobStatus;
      remoteId: string | null;
      attempts: number;
    }[];
  }

  /** running → done, with its stems, in one transaction. */
  complete(
    id: string,
    result: { stems: Stem[]; durationSec: number; provider: string | null; analysis?: JobAnalysis | null },
    ownerId: string | null = null,
  ): Job | null {
    let ok = false;
    this.db.transaction((tx) => {
      const res = tx
        .update(jobs)
        .set({
          status: 'done',
          progress: 1,
          segmentsDone: sql`${jobs.segmentsTotal}`,
          etaSec: 0,
          finishedAt: Date.now(),
          durationSec: result.durationSec,
          provider: result.provider,
          errorCode: null,
          errorMessage: null,
          ownerId: null,
          heartbeatAt: null,
          ...analysisColumns(result.analysis),
        })
        .where(and(eq(jobs.id, id), eq(jobs.status, 'running'), ownerId ? eq(jobs.ownerId, ownerId) : undefined))
        .run();
      if (res.changes !== 1) return;
      ok = true;
      tx.delete(stems).where(and(eq(stems.jobId, id), eq(stems.kind, 'stem'))).run();
      if (result.stems.length) {
        tx.insert(stems)
          .values(result.stems.map((s) => ({ jobId: id, name: s.name, path: s.path, format: s.format, durationSec: s.durationSec, kind: 'stem' as const })))
          .run();
      }
    });
    if (!ok) return null;
    const job = this.get(id);
    this.bus.emit('job-updated', job);
    if (job.batchId) this.refreshBatch(job.batchId);
    return job;
  }

  fail(id: string, error: JobError, from: JobStatus[] = ['running'], ownerId: string | null = null): Job | null {
    return this.transition(
      id,
      from,
      'failed',
      { errorCode: error.code, errorMessage: error.message, finishedAt: Date.now(), etaSec: null, ownerId: null, heartbeatAt: null },
      ownerId ? { ownerId } : {},
    );
  }

  /** running → queued (crash recovery, shutdown, a lost runner lock); only the owner's when `ownerId` is given. */
  requeue(id: string, ownerId: string | null = null): Job | null {
    return this.transition(
      id,
      ['running'],
      'queued',
      { progress: 0, segmentsDone: 0, etaSec: null, startedAt: null, ownerId: null, heartbeatAt: null },
      ownerId ? { ownerId } : {},
    );
  }

  /**
   * Refreshes the heartbeat of the running jobs `ownerId` owns; returns the ids among `ids` it no
   * longer owns (requeued, taken over, canceled or removed elsewhere).
   */
  heartbeat(ownerId: string, ids: string[], now = Date.now()): string[] {
    if (!ids.length) return [];
    this.stmt(`update jobs set heartbeat_at = ? where owner_id = ? and status = 'running' and id in (select value from json_each(?))`).run(now, ownerId, JSON.stringify(ids));
    const still = new Set(
      (this.stmt(`select id from jobs where owner_id = ? and status = 'running' and id in (select value from json_each(?))`).all(ownerId, JSON.stringify(ids)) as { id: string }[]).map((r) => r.id),
    );
    return ids.filter((id) => !still.has(id));
  }

  /**
   * Running jobs nobody runs any more: no owner, a dead owner (`deadOwners`), or an owner whose
   * heartbeat is older than `staleMs`. Never jobs of `liveOwner` (this runner).
   */
  orphanedRunning(liveOwner: string, deadOwners: string[], staleMs: number, now = Date.now()): { id: string; outputDir: string | null }[] {
    return this.stmt(
      `select id, output_dir as outputDir from jobs where status = 'running' and (owner_id is null or (owner_id <> ? and
        (owner_id in (select value from json_each(?)) or heartbeat_at is null or heartbeat_at < ?)))`,
    ).all(liveOwner, JSON.stringify(deadOwners), now - staleMs) as { id: string; outputDir: string | null }[];
  }

  /** Recounts a batch's done/failed from its jobs and emits `batch-updated`. */
  refreshBatch(batchId: string): void {
    this.stmt(
      `update batches set done = (select count(*) from jobs where batch_id = @b and status = 'done'),
       failed = (select count(*) from jobs where batch_id = @b and status = 'failed') where id = @b`,
    ).run({ b: batchId });
    const b = this.stmt(
      `select id, source_folder as sourceFolder, output_dir as outputDir, total, done, failed,
       (select count(*) from jobs where batch_id = @b and status = 'canceled') as canceled, skipped, created_at as createdAt from batches where id = @b`,
    ).get({ b: batchId }) as Batch | undefined;
    if (b) this.bus.emit('batch-updated', { ...b });
  }

  /** Moves a queued job before another queued job (or to the end); renumbers priorities in one transaction. */
  reorder(id: string, beforeId: string | null): Job[] {
    const job = this.get(id);
    if (job.status !== 'queued') throw new CoreError('CONFLICT', `Only queued jobs can be reordered; this one is ${job.status}.`);
    const changed: string[] = [];
    this.db.transaction((tx) => {
      const order = tx
        .select({ id: jobs.id, priority: jobs.priority })
        .from(jobs)
        .where(eq(jobs.status, 'queued'))
        .orderBy(desc(jobs.priority), asc(jobs.createdAt), asc(jobs.id))
        .all();
      const ids = order.map((o) => o.id).filter((x) => x !== id);
      if (beforeId === null) ids.push(id);
      else {
        const at = ids.indexOf(beforeId);
        if (at < 0) throw new CoreError('CONFLICT', `Job ${beforeId} is not queued; cannot move before it.`);
        ids.splice(at, 0, id);
      }
      const prev = new Map(order.map((o) => [o.id, o.priority]));
      const stmt = this.db.$client.prepare('update jobs set priority = ? where id = ? and status = ?');
      ids.forEach((jid, i) => {
        const p = ids.length - i;
        if (prev.get(jid) !== p) {
          stmt.run(p, jid, 'queued');
          changed.push(jid);
        }
      });
    });
    const updated = this.getMany(changed);
    for (const j of updated) this.bus.emit('job-updated', j);
    return this.getMany(this.queuedOrder().map((r) => r.id));
  }

  /** Deletes a job record (stems rows cascade). */
  delete(id: string): void {
    const r = this.row(id);
    if (!r) throw new CoreError('NOT_FOUND', `No job with id ${id}.`);
    this.db.delete(jobs).where(eq(jobs.id, id)).run();
    this.bus.emit('job-removed', { id });
    if (r.batchId) this.refreshBatch(r.batchId);
  }

  // ------------------------------------------------------------------------------------------
  // Cache and skip lookups
  // ------------------------------------------------------------------------------------------

  /** A finished job with the same content hash and output options whose stems all still exist. */
  findCacheHit(hash: string, key: string, excludeId: string): Job | null {
    const rows = (
      this.stmt(
        `select ${JOB_COLUMNS} from jobs where input_hash = ? and options_key = ? and status = 'done' order by finished_at desc limit 10`,
      ).all(hash, key) as JobRow[]
    ).filter((r) => r.id !== excludeId);
    for (const r of rows) {
      const job = rowToJob(r, this.stemRows(r.id));
      if (job.stems.length && job.stems.every((s) => fileExists(s.path))) return job;
    }
    return null;
  }

  private stmtCache = new Map<string, import('better-sqlite3').Statement>();
  private stmt(sqlText: string): import('better-sqlite3').Statement {
    let st = this.stmtCache.get(sqlText);
    if (!st) {
      st = this.db.$client.prepare(sqlText);
      this.stmtCache.set(sqlText, st);
    }
    return st;
  }

  /**
   * Whether `inputPath` (same size and mtime) was already separated with these output options
   * into `outputDir`, with every stem still on disk. (Raw prepared statements: called once per
   * file when a 1,000-file folder is added.)
   */
  alreadySeparated(inputPath: string, size: number, mtimeMs: number, key: string, outputDir: string): boolean {
    const rows = this.stmt(
      `select id from jobs where input_path = ? and options_key = ? and status = 'done' and output_dir = ? and input_size = ? and input_mtime_ms = ?`,
    ).all(inputPath, key, outputDir, size, Math.round(mtimeMs)) as { id: string }[];
    return rows.some((r) => {
      const st = this.stmt(`select path from stems where job_id = ? and kind = 'stem'`).all(r.id) as { path: string }[];
      return st.length > 0 && st.every((x) => fileExists(x.path));
    });
  }

  /**
   * Whose work is already in this output folder, if not this input's with these options:
   * 'input' when a job for another input uses it, 'options' when a job for the same input with
   * other output options (`key`, see optionsKey) does; null when the folder is free for this job.
   * With `inputHash` (an uploaded file), a job whose input has the same content is the same input.
   */
  outputDirTakenBy(outputDir: string, inputPath: string, inputHash: string | null = null, key: string | null = null): 'input' | 'options' | null {
    const otherInput = inputHash
      ? this.stmt(`select 1 from jobs where output_dir = ? and input_path <> ? and (input_hash is null or input_hash <> ?) limit 1`).get(outputDir, inputPath, inputHash)
      : this.stmt(`select 1 from jobs where output_dir = ? and input_path <> ? limit 1`).get(outputDir, inputPath);
    if (otherInput) return 'input';
    if (key === null) return null;
    const otherOptions = inputHash
      ? this.stmt(`select 1 from jobs where output_dir = ? and options_key <> ? and (input_path = ? or input_hash = ?) limit 1`).get(outputDir, key, inputPath, inputHash)
      : this.stmt(`select 1 from jobs where output_dir = ? and options_key <> ? and input_path = ? limit 1`).get(outputDir, key, inputPath);
    return otherOptions ? 'options' : null;
  }

  /** Whether another job than `jobId` lists this file among its stems (a cache hit linked into the same folder). */
  stemPathShared(file: string, jobId: string): boolean {
    return !!this.stmt(`select 1 from stems where path = ? and job_id <> ? limit 1`).get(file, jobId);
  }

  /** Whether any job's input lies under this folder (uploads still in use). */
  anyInputUnder(dir: string): boolean {
    const prefix = dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`;
    return !!this.stmt(`select 1 from jobs where instr(input_path, ?) = 1 limit 1`).get(prefix);
  }

  /** An active (queued/running) job for the same input, options and folder. */
  activeDuplicate(inputPath: string, key: string, outputDir: string): string | null {
    const r = this.stmt(
      `select id from jobs where input_path = ? and options_key = ? and output_dir = ? and status in ('queued', 'running') limit 1`,
    ).get(inputPath, key, outputDir) as { id: string } | undefined;
    return r?.id ?? null;
  }
}

function fileExists(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function emptyRow(): Partial<JobRow> {
  return {
    inputHash: null,
    inputSize: null,
    inputMtimeMs: null,
    progress: 0,
    segmentsDone: 0,
    segmentsTotal: 0,
    etaSec: null,
    provider: null,
    errorCode: null,
    errorMessage: null,
    priority: 0,
    attempts: 0,
    startedAt: null,
    finishedAt: null,
    batchId: null,
    relativePath: null,
    durationSec: null,
    inputPeaks: null,
  };
}
