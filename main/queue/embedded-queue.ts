/**
 * The embedded queue (the default): jobs are SQLite rows, run by engine worker threads in this
 * process. One process per database runs them (the single-runner lock); others only add, cancel
 * and watch.
 */
import type Database from 'better-sqlite3';
import type { Job, Settings } from '../../preload/contract.ts';
import type { Bus } from '../bus.ts';
import { FRESH_RUN, type JobStore } from '../store/job-store.ts';
import type { QueueBackend } from './backend.ts';
import { RunnerLock, type LockHolder } from './lock.ts';
import type { SpawnEngine } from './process-worker.ts';
import { WorkerPool, removePartials, type PrepareResult } from './pool.ts';
import { toRows, type EnqueueBatch, type EnqueueJob, type JobQueue } from './queue.ts';
import { SqliteQueueBackend } from './sqlite-backend.ts';

export interface EmbeddedQueueOptions {
  store: JobStore;
  sqlite: Database.Database;
  bus: Bus;
  settings: () => Settings;
  /** Input checks, cache and output folder before the engine runs (the jobs service). */
  prepare: (job: Job, run: QueueBackend) => Promise<PrepareResult>;
  workerScript: string;
  /** PoolOptions.spawnEngine (the app: Electron's utilityProcess). */
  spawnEngine?: SpawnEngine;
  modelsDir?: string;
  pollMs?: number;
  /** After this long without a worker's answer to a cancel, a line is logged. */
  cancelGraceMs?: number;
  /** CPU cores to share between workers (default: this machine's). */
  cores?: number;
  /** Idle engine workers are stopped after this long (default 5 minutes; see PoolOptions). */
  workerIdleMs?: number;
  /** Nice value for the engine workers (Linux): set by the app and serve so their event loop stays ahead. */
  engineNice?: number;
  lockHeartbeatMs?: number;
  lockStaleMs?: number;
  /** Take the runner lock and run workers (default true). */
  startQueue?: boolean;
  onChange: () => void;
  warn: (message: string) => void;
}

export class EmbeddedQueue implements JobQueue {
  readonly kind = 'embedded' as const;
  readonly where = 'the embedded queue (this machine)';
  private readonly backend: SqliteQueueBackend;
  private readonly pool: WorkerPool;
  private readonly lock: RunnerLock;
  private lockHolder: LockHolder | null = null;
  private lockTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: EmbeddedQueueOptions) {
    // The lock's owner token also marks the running jobs this queue owns.
    this.lock = new RunnerLock(
      o.sqlite,
      () => {
        o.warn('Another Demix process took over the job queue; this one stops its running jobs (they go back to the queue) and starts no more.');
        void this.pool.relinquish();
      },
      { heartbeatMs: o.lockHeartbeatMs, staleMs: o.lockStaleMs },
    );
    this.backend = new SqliteQueueBackend(o.store, this.lock.owner);
    this.pool = new WorkerPool({
      backend: this.backend,
      workerScript: o.workerScript,
      spawnEngine: o.spawnEngine,
      size: () => o.settings().concurrency,
      prepare: (job) => o.prepare(job, this.backend),
      onChange: o.onChange,
      emitProgress: (job) => o.bus.emit('job-updated', job),
      onProvider: (job, provider, fallbackReason) => {
        o.store.setProvider(job.id, provider, fallbackReason);
        o.bus.emit('job-updated', job);
      },
      cancelGraceMs: o.cancelGraceMs,
      idleReleaseMs: o.workerIdleMs,
      cores: o.cores ? () => o.cores! : undefined,
      engineNice: o.engineNice,
      log: (m) => o.warn(m),
    });
    if (o.startQueue !== false && !this.tryRun()) {
      this.lockTimer = setInterval(() => this.tryRun(), 2000);
      this.lockTimer.unref();
    }
  }

  /**
   * Running jobs nobody runs any more go back to the queue: no owner, the runner this one took
   * the lock from (dead, or silent for longer than the lock's stale time), or a job heartbeat
   * older than that. A live runner's jobs are never taken from under it.
   */
  private recover(): void {
    const lock = this.lock;
    for (const r of this.o.store.orphanedRunning(lock.owner, lock.previousOwner ? [lock.previousOwner] : [], lock.staleMs)) {
      removePartials(r.outputDir);
      this.o.store.requeue(r.id);
    }
  }

  private tryRun(): boolean {
    if (this.closed) return false;
    this.lockHolder = this.lock.tryAcquire();
    if (this.lockHolder) return false;
    if (this.lockTimer) clearInterval(this.lockTimer);
    this.lockTimer = null;
    this.recover();
    this.pool.start(this.o.pollMs ?? 1000);
    this.o.onChange();
    return true;
  }

  enqueue(batch: EnqueueBatch | null, jobs: EnqueueJob[]) {
    const { batch: b, rows } = toRows(batch, jobs);
    const res = this.o.store.insert(b, rows);
    if (rows.length) this.pool.pump();
    return res;
  }

  cancel(id: string): Job | null {
    const before = this.o.store.row(id)?.status;
    const updated = this.backend.cancel(id);
    if (updated && before === 'running') this.pool.cancel(id);
    return updated;
  }

  retry(id: string): Job | null {
    const updated = this.o.store.transition(id, ['failed', 'canceled'], 'queued', FRESH_RUN);
    if (updated) this.pool.pump();
    return updated;
  }

  reorder(id: string, beforeId: string | null): Job[] {
    return this.o.store.reorder(id, beforeId);
  }

  async forget(id: string): Promise<void> {
    const status = this.o.store.row(id)?.status;
    if (status !== 'queued' && status !== 'running') return;
    this.backend.cancel(id);
    this.pool.cancel(id);
    await this.pool.whenStopped(id);
  }

  get paused(): boolean {
    return this.pool.paused;
  }
  pause(): void {
    this.pool.paused = true;
  }
  resume(): void {
    this.pool.paused = false;
    this.pool.pump();
  }
  workers(): number {
    return this.pool.workers;
  }
  live(id: string): Job | null {
    return this.pool.runningJob(id);
  }
  providers(): string[] {
    return [...this.pool.providers];
  }
  fallbackReasons(): string[] {
    return [...this.pool.fallbackReasons];
  }
  plan() {
    return this.pool.plan();
  }
  /** Called on every poll: running jobs whose runner died go back to the queue (while this one holds the lock). */
  maintain(): void {
    if (this.lock.isHeld && !this.closed) this.recover();
  }
  pump(): void {
    this.pool.pump();
  }
  isRunner(): boolean {
    return this.lock.isHeld;
  }
  holder(): LockHolder | null {
    return this.lockHolder;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.lockTimer) clearInterval(this.lockTimer);
    await this.pool.close();
    this.lock.release();
  }
}
