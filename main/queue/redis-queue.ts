/**
 * The distributed queue: BullMQ on Redis. This side (the submitter: app, `demix separate`,
 * `demix serve`) adds jobs and mirrors their states into the local SQLite store from BullMQ's
 * events, so the app, `demix jobs` and the bridge show remote jobs like local ones. `demix worker`
 * processes (redis-worker.ts) on any machine run them.
 *
 * Local state changes are synchronous (SQLite, guarded transitions); the matching Redis commands
 * go out in order through one outbox. While Redis is away they wait (maxRetriesPerRequest: null)
 * and this side says so once. On start (and after every reconnect) the local queued/running jobs
 * are reconciled with Redis: lost submissions are sent again, finished ones are mirrored.
 */
import os from 'node:os';
import { Job as BullJob, Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Job } from '../../preload/contract.ts';
import type { Bus } from '../bus.ts';
import { FRESH_RUN, type JobStore } from '../store/job-store.ts';
import { toRows, type EnqueueBatch, type EnqueueJob, type JobQueue } from './queue.ts';
import { CANCEL_CHANNEL, KEY_PREFIX, QUEUE_NAME, cancelKey, checkRedis, parseQueueUrl, redisConnection, type ParsedQueueUrl } from './redis-conn.ts';
import {
  bullPriority,
  decodeError,
  localIdOf,
  nextRemoteId,
  remoteIdFor,
  type RemoteJobData,
  type RemoteProgress,
  type RemoteResult,
} from './redis-protocol.ts';

/** Finished jobs kept in Redis (the local store keeps the history). */
export const KEEP_COMPLETED = { age: 7 * 24 * 3600, count: 50_000 };
export const KEEP_FAILED = { age: 30 * 24 * 3600, count: 50_000 };

export interface RedisQueueOptions {
  url: string;
  store: JobStore;
  bus: Bus;
  warn: (message: string) => void;
  onChange: () => void;
  /** Follow BullMQ's events and mirror them (false for one-shot commands: they reconcile once). */
  follow?: boolean;
  /** Milliseconds between reconciliations of running jobs (default 5000). */
  reconcileMs?: number;
  /**
   * The content-hash cache, asked for each job before it is sent (as local jobs ask it before they
   * run): 'cached' = completed from a finished identical job, nothing to send; 'gone' = no longer
   * queued; 'send' = a worker must separate it.
   */
  fromCache?: (id: string) => Promise<'cached' | 'gone' | 'send'>;
}

interface OutItem {
  id: string;
  remoteId: string;
  data: RemoteJobData;
  priority: number;
}

export async function openRedisQueue(o: RedisQueueOptions): Promise<RedisQueue> {
  const parsed = parseQueueUrl(o.url);
  await checkRedis(parsed);
  const q = new RedisQueue(parsed, o);
  await q.start();
  return q;
}

export class RedisQueue implements JobQueue {
  readonly kind = 'redis' as const;
  readonly where: string;
  private readonly conn: Redis;
  private readonly eventsConn: Redis | null;
  private readonly bull: Queue;
  private readonly events: QueueEvents | null;
  private outbox: Promise<void> = Promise.resolve();
  private pendingOps = 0;
  private pausedFlag = false;
  private workerCount = 0;
  private readonly liveJobs = new Map<string, Job>();
  /** Jobs handed to the outbox and not sent yet (reconciliation leaves them alone). */
  private readonly unsent = new Set<string>();
  private readonly lastPersist = new Map<string, number>();
  private readonly seenProviders = new Set<string>();
  private readonly seenFallbacks = new Set<string>();
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private reconciling: Promise<void> | null = null;

  constructor(
    private readonly parsed: ParsedQueueUrl,
    private readonly o: RedisQueueOptions,
  ) {
    this.where = parsed.where;
    let wasDown = false;
    this.conn = redisConnection(parsed, {
      onDown: (m) => {
        wasDown = true;
        o.warn(m);
      },
      onUp: (m) => {
        o.warn(m);
        if (wasDown) {
          wasDown = false;
          void this.reconcile(false);
        }
      },
    });
    this.bull = new Queue(QUEUE_NAME, { connection: this.conn, prefix: KEY_PREFIX });
    this.bull.on('error', () => {}); // reported once by the connection
    if (o.follow !== false) {
      this.eventsConn = redisConnection(parsed);
      this.events = new QueueEvents(QUEUE_NAME, { connection: this.eventsConn, prefix: KEY_PREFIX, autorun: false });
      this.events.on('error', () => {});
    } else {
      this.eventsConn = null;
      this.events = null;
    }
  }

  async start(): Promise<void> {
    await this.bull.waitUntilReady();
    this.pausedFlag = await this.bull.isPaused();
    if (this.events) {
      const ev = this.events;
      ev.on('active', ({ jobId }) => this.onActive(jobId));
      ev.on('progress', ({ jobId, data }) => this.onProgress(jobId, data as unknown as RemoteProgress));
      ev.on('completed', ({ jobId, returnvalue }) => this.onCompleted(jobId, parseMaybe(returnvalue) as RemoteResult));
      ev.on('failed', ({ jobId, failedReason }) => this.onFailed(jobId, failedReason));
      ev.on('stalled', ({ jobId }) => this.onBackToWait(jobId));
      ev.on('waiting', ({ jobId, prev }) => {
        if (prev === 'active' || prev === 'stalled') this.onBackToWait(jobId);
      });
      ev.on('paused', () => this.setPaused(true));
      ev.on('resumed', () => this.setPaused(false));
      void ev.run().catch(() => {});
      await ev.waitUntilReady();
      // Light pass (running jobs) often, full pass now and then: events missed while Redis was away.
      const every = this.o.reconcileMs ?? 5000;
      let n = 0;
      this.timers.push(setInterval(() => void this.reconcile(++n % 6 !== 0), every));
      this.timers.push(setInterval(() => void this.refreshWorkers(), 2000));
      for (const t of this.timers) t.unref();
    }
    await this.reconcile(false);
    await this.refreshWorkers();
  }

  // ---------------------------------------------------------------------------------------------
  // Outbox: Redis commands in order, never blocking the caller.
  // ---------------------------------------------------------------------------------------------

  private op(what: string, fn: () => Promise<unknown>): void {
    this.pendingOps++;
    this.outbox = this.outbox
      .then(async () => {
        await fn();
      })
      .catch((e) => {
        if (!this.closed) this.o.warn(`Redis queue: could not ${what}: ${(e as Error).message}`);
      })
      .finally(() => {
        this.pendingOps--;
      });
  }

  /**
   * Sends jobs to Redis, in order with every other command. Each is first looked up in the
   * content-hash cache (same content, same settings, finished here or on any worker → it completes
   * from there, without a remote run); a job canceled or retried meanwhile is not sent.
   */
  private send(items: OutItem[], what: string): void {
    for (const it of items) this.unsent.add(it.id);
    const size = this.o.fromCache ? 50 : 500;
    for (let i = 0; i < items.length; i += size) {
      const chunk = items.slice(i, i + size);
      this.op(what, async () => {
        try {
          const out: OutItem[] = [];
          for (const it of chunk) {
            const verdict = this.o.fromCache && !this.closed ? await this.o.fromCache(it.id).catch(() => 'send' as const) : 'send';
            const r = this.o.store.row(it.id);
            if (verdict === 'send' && r && r.status === 'queued' && r.remoteId === it.remoteId) out.push(it);
          }
          if (out.length) await this.addRemote(out);
        } finally {
          for (const it of chunk) this.unsent.delete(it.id);
        }
      });
    }
  }

  private addRemote(rows: OutItem[]): Promise<unknown> {
    return this.bull.addBulk(
      rows.map((r) => ({
        name: 'separate',
        data: r.data,
        opts: { jobId: r.remoteId, priority: bullPriority(r.priority), attempts: 1, removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED },
      })),
    );
  }

  private dataFor(j: Job): RemoteJobData {
    return { id: j.id, name: j.name, inputPath: j.inputPath, outputDir: j.outputDir!, options: j.options, excerpt: j.excerpt ?? null, submittedFrom: os.hostname() };
  }

  // ---------------------------------------------------------------------------------------------
  // JobQueue
  // ---------------------------------------------------------------------------------------------

  enqueue(batch: EnqueueBatch | null, jobs: EnqueueJob[]) {
    const { batch: b, rows } = toRows(batch, jobs, (j) => ({ remoteId: remoteIdFor(j.id, 1) }));
    const res = this.o.store.insert(b, rows);
    if (res.jobs.length) {
      this.send(
        res.jobs.map((j) => ({ id: j.id, remoteId: remoteIdFor(j.id, 1), data: this.dataFor(j), priority: j.priority })),
        'add jobs',
      );
    }
    return res;
  }

  cancel(id: string): Job | null {
    const row = this.o.store.row(id);
    const updated = this.o.store.transition(id, ['queued', 'running'], 'canceled', { finishedAt: Date.now(), etaSec: null });
    if (updated) {
      this.liveJobs.delete(id);
      if (row?.remoteId) {
        const remoteId = row.remoteId;
        this.op('cancel a job', () => this.cancelRemote(remoteId));
      }
    }
    return updated;
  }

  private async cancelRemote(remoteId: string): Promise<void> {
    // The key covers a worker that takes the job between our remove and its start; the message
    // stops a run in progress.
    await this.conn.set(cancelKey(remoteId), '1', 'EX', 7 * 24 * 3600);
    try {
      const j = await BullJob.fromId(this.bull, remoteId);
      if (j) await j.remove();
    } catch {
      // Active (locked by a worker): the worker stops it on the message below.
    }
    await this.conn.publish(CANCEL_CHANNEL, remoteId);
  }

  retry(id: string): Job | null {
    const row = this.o.store.row(id);
    if (!row) return null;
    const next = nextRemoteId(id, row.remoteId);
    const updated = this.o.store.transition(id, ['failed', 'canceled'], 'queued', FRESH_RUN);
    if (!updated) return null;
    this.o.store.setRemoteId(id, next);
    this.o.store.setWorker(id, null, null);
    const old = row.remoteId;
    const item = { id, remoteId: next, data: this.dataFor(updated), priority: updated.priority };
    if (old) {
      this.op('retry a job', async () => {
        try {
          const j = await BullJob.fromId(this.bull, old);
          if (j) await j.remove();
        } catch {
          // still locked by a worker that is stopping it: it expires on its own
        }
      });
    }
    this.send([item], 'retry a job');
    return { ...updated, workerHost: null };
  }

  reorder(id: string, beforeId: string | null): Job[] {
    const before = new Map(this.o.store.queuedOrder().map((r) => [r.id, r.priority]));
    const order = this.o.store.reorder(id, beforeId);
    const changed = order.filter((j) => before.get(j.id) !== j.priority);
    const rows = changed.map((j) => ({ remoteId: this.o.store.row(j.id)?.remoteId ?? null, priority: j.priority })).filter((r) => r.remoteId);
    this.op('reorder jobs', async () => {
      await Promise.all(
        rows.map(async (r) => {
          try {
            const j = await BullJob.fromId(this.bull, r.remoteId!);
            if (j) await j.changePriority({ priority: bullPriority(r.priority) });
          } catch {
            // Started meanwhile: nothing to reorder.
          }
        }),
      );
    });
    return order;
  }

  async forget(id: string): Promise<void> {
    const row = this.o.store.row(id);
    if (!row || (row.status !== 'queued' && row.status !== 'running')) return;
    // The worker stops the run within a segment and removes its partial files; a result that
    // arrives after the record is gone is ignored (no local record to mirror it into).
    this.cancel(id);
    await this.flush();
  }

  get paused(): boolean {
    return this.pausedFlag;
  }
  pause(): void {
    this.setPaused(true);
    this.op('pause the queue', () => this.bull.pause());
  }
  resume(): void {
    this.setPaused(false);
    this.op('resume the queue', () => this.bull.resume());
  }
  private setPaused(p: boolean): void {
    if (this.pausedFlag === p) return;
    this.pausedFlag = p;
    this.o.onChange();
  }
  workers(): number {
    return this.workerCount;
  }
  private async refreshWorkers(): Promise<void> {
    if (this.closed) return;
    try {
      const n = await this.bull.getWorkersCount();
      if (n !== this.workerCount) {
        this.workerCount = n;
        this.o.onChange();
      }
    } catch {
      // Redis away: reported by the connection
    }
  }
  live(id: string): Job | null {
    return this.liveJobs.get(id) ?? null;
  }
  providers(): string[] {
    return [...this.seenProviders];
  }
  fallbackReasons(): string[] {
    return [...this.seenFallbacks]; // as the workers reported them with their results
  }
  plan() {
    return undefined; // the jobs run on `demix worker` processes, each with its own plan
  }
  pump(): void {
    // Workers pull from Redis on their own.
  }
  maintain(): void {
    // Reconciliation runs on its own timer.
  }
  isRunner(): boolean {
    return true;
  }
  holder() {
    return null;
  }

  /** Waits until every Redis command issued so far went out (or `timeoutMs` passed). */
  async flush(timeoutMs = 10_000): Promise<boolean> {
    const done = this.outbox.then(() => true);
    return Promise.race([done, new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const t of this.timers) clearInterval(t);
    if (!(await this.flush()) && this.pendingOps > 0) {
      this.o.warn(`Redis at ${this.where} did not answer; ${this.pendingOps} queue command(s) will be sent the next time Demix connects.`);
    }
    this.closed = true;
    await Promise.race([
      Promise.allSettled([this.events?.close(), this.bull.close()]),
      new Promise((r) => setTimeout(r, 3000).unref()),
    ]);
    this.conn.disconnect();
    this.eventsConn?.disconnect();
  }

  // ---------------------------------------------------------------------------------------------
  // Mirroring BullMQ's states into the local store (every transition guarded: repeats are no-ops)
  // ---------------------------------------------------------------------------------------------

  private local(remoteId: string) {
    const r = this.o.store.row(localIdOf(remoteId));
    return r && r.remoteId === remoteId ? r : null;
  }

  private onActive(remoteId: string): void {
    const r = this.local(remoteId);
    if (!r || r.status !== 'queued') return;
    this.o.store.transition(r.id, ['queued'], 'running', { ...FRESH_RUN, startedAt: Date.now(), attempts: r.attempts + 1 });
  }

  private onProgress(remoteId: string, p: RemoteProgress): void {
    if (!p || typeof p !== 'object') return;
    let r = this.local(remoteId);
    if (!r) return;
    if (r.status === 'queued') {
      this.onActive(remoteId);
      r = this.local(remoteId);
      if (!r) return;
    }
    if (r.status !== 'running') return;
    if (p.provider) this.seenProviders.add(p.provider);
    const prev = this.liveJobs.get(r.id);
    const hostChanged = (prev?.workerHost ?? r.workerHost) !== p.host || (p.provider && (prev?.provider ?? r.provider) !== p.provider);
    if (hostChanged) this.o.store.setWorker(r.id, p.host, p.provider);
    const base = prev && !hostChanged ? prev : this.o.store.get(r.id);
    const update = {
      progress: Math.min(1, Math.max(0, Number(p.fraction) || 0)),
      segmentsDone: p.segmentsDone | 0,
      segmentsTotal: p.segmentsTotal | 0,
      etaSec: p.etaSec === null || p.etaSec === undefined ? null : Math.max(0, p.etaSec),
    };
    const job: Job = { ...base, ...update, workerHost: p.host, provider: p.provider ?? base.provider };
    this.liveJobs.set(r.id, job);
    const now = Date.now();
    if (now - (this.lastPersist.get(r.id) ?? 0) >= 1000) {
      this.lastPersist.set(r.id, now);
      this.o.store.saveProgress(r.id, update);
    }
    this.o.bus.emit('job-updated', job);
  }

  private onCompleted(remoteId: string, rv: RemoteResult | null): void {
    const r = this.local(remoteId);
    if (!r || !rv || !Array.isArray(rv.stems)) return;
    if (r.status === 'queued') this.onActive(remoteId);
    this.liveJobs.delete(r.id);
    this.lastPersist.delete(r.id);
    if (rv.provider) this.seenProviders.add(rv.provider);
    this.o.store.setWorker(r.id, rv.host ?? null, rv.provider ?? null);
    if (rv.provider && rv.fallbackReason) {
      this.seenFallbacks.add(rv.fallbackReason);
      this.o.store.setProvider(r.id, rv.provider, rv.fallbackReason);
    }
    this.o.store.complete(r.id, { stems: rv.stems, durationSec: rv.durationSec, provider: rv.provider, analysis: rv.analysis ?? null });
  }

  private onFailed(remoteId: string, reason: string): void {
    const r = this.local(remoteId);
    if (!r) return;
    this.liveJobs.delete(r.id);
    this.lastPersist.delete(r.id);
    const err = decodeError(reason);
    if (err.code === 'CANCELED') this.o.store.transition(r.id, ['queued', 'running'], 'canceled', { finishedAt: Date.now(), etaSec: null });
    else this.o.store.fail(r.id, err, ['queued', 'running']);
  }

  /** A worker died (or lost Redis) mid-job: BullMQ put the job back; it runs again elsewhere. */
  private onBackToWait(remoteId: string): void {
    const r = this.local(remoteId);
    if (!r || r.status !== 'running') return;
    this.liveJobs.delete(r.id);
    this.o.store.transition(r.id, ['running'], 'queued', { progress: 0, segmentsDone: 0, etaSec: null, startedAt: null });
  }

  /**
   * Compares local queued/running jobs with Redis: resends submissions Redis lost (or never got),
   * mirrors finished ones. `runningOnly`: the periodic light pass.
   */
  reconcile(runningOnly: boolean): Promise<void> {
    if (this.reconciling || this.closed) return this.reconciling ?? Promise.resolve();
    this.reconciling = this.doReconcile(runningOnly).finally(() => {
      this.reconciling = null;
    });
    return this.reconciling;
  }

  private async doReconcile(runningOnly: boolean): Promise<void> {
    await this.outbox; // our own adds first
    const rows = this.o.store.remoteActive().filter((r) => (!runningOnly || r.status === 'running') && !this.unsent.has(r.id));
    const resend: OutItem[] = [];
    for (let i = 0; i < rows.length; i += 200) {
      const chunk = rows.slice(i, i + 200);
      await Promise.all(
        chunk.map(async (r) => {
          try {
            if (!r.remoteId) {
              // Queued before this database used Redis: hand it to the workers.
              const remoteId = remoteIdFor(r.id, 1);
              this.o.store.setRemoteId(r.id, remoteId);
              const j = this.o.store.get(r.id);
              if (j.status === 'queued') resend.push({ id: r.id, remoteId, data: this.dataFor(j), priority: j.priority });
              return;
            }
            const state = await this.bull.getJobState(r.remoteId);
            if (state === 'unknown') {
              const j = this.o.store.get(r.id);
              if (j.status === 'running') this.onBackToWaitLocal(r.id);
              if (this.o.store.row(r.id)?.status === 'queued') resend.push({ id: r.id, remoteId: r.remoteId, data: this.dataFor(j), priority: j.priority });
            } else if (state === 'completed' || state === 'failed') {
              const bj = await BullJob.fromId(this.bull, r.remoteId);
              if (!bj) return;
              if (state === 'completed') this.onCompleted(r.remoteId, parseMaybe(bj.returnvalue) as RemoteResult);
              else this.onFailed(r.remoteId, bj.failedReason);
            } else if (state === 'active') {
              this.onActive(r.remoteId);
            } else if (r.status === 'running') {
              this.onBackToWait(r.remoteId);
            }
          } catch {
            // Redis away: the next pass
          }
        }),
      );
    }
    if (resend.length) this.send(resend, 'send jobs again');
  }

  private onBackToWaitLocal(id: string): void {
    this.liveJobs.delete(id);
    this.o.store.transition(id, ['running'], 'queued', { progress: 0, segmentsDone: 0, etaSec: null, startedAt: null });
  }
}

function parseMaybe(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return null;
  }
}
