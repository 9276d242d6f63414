/**
 * A pool of engine workers (engine/worker-protocol.ts; each a process of its own, see
 * process-worker.ts). Each worker holds one
 * model session for one (model, device) and runs one job at a time; it is reused across jobs.
 * A worker that throws or exits fails only its job (with the reason) and is replaced.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ProcessWorker, type EngineWorkerHandle, type SpawnEngine } from './process-worker.ts';
import type { Job, JobError } from '../../preload/contract.ts';
import type { FromWorker, ToWorker } from '../../engine/worker-protocol.ts';
import type { QueueBackend } from './backend.ts';
import { isPartialName } from '../paths.ts';

/** What the pool does before handing a job to a worker (input checks, cache, output folder). */
export type PrepareResult = { run: true } | { run: false };

export interface PoolOptions {
  backend: QueueBackend;
  /** The engine worker script (engine/worker-path.ts; tests: a fake speaking the same protocol). */
  workerScript: string;
  /** Nice value for the engine workers (see engine/thread-priority.ts): the app and serve keep their event loop ahead of the model. */
  engineNice?: number;
  /**
   * Starts an engine process (default: a ProcessWorker, Node's child_process.fork; the app passes
   * Electron's utilityProcess). Each engine worker is a process of its own: process-worker.ts says
   * why (forking ffmpeg from a process holding the model froze the core's event loop).
   */
  spawnEngine?: SpawnEngine;
  /** Wanted number of workers (read on every pump, so settings changes apply to the next job). */
  size: () => number;
  prepare: (job: Job) => Promise<PrepareResult>;
  /** Called whenever jobs start/finish or workers come and go (queue-state updates). */
  onChange?: () => void;
  /** Emits `job-updated` for in-memory progress (not persisted on every message). */
  emitProgress: (job: Job) => void;
  /** A job's worker is ready: the execution provider it really uses is known. */
  onProvider?: (job: Job, provider: string, fallbackReason: string | null) => void;
  /** CPU cores to share among workers (default: os.availableParallelism()). */
  cores?: () => number;
  /** Milliseconds between persisted progress writes per job. */
  persistEveryMs?: number;
  /** After this long without an answer to a cancel, a line is logged (the worker is never killed mid-run). */
  cancelGraceMs?: number;
  /** How long close() waits for running jobs to stop at a segment boundary (default 10 min). */
  closeGraceMs?: number;
  /**
   * Workers (each holding a model session: 3.6-5 GB) are stopped after this long with no job
   * running here (default 5 minutes); the next job starts a fresh one.
   */
  idleReleaseMs?: number;
  log?: (message: string) => void;
}

interface Slot {
  index: number;
  worker: EngineWorkerHandle | null;
  key: string | null;
  ready: Promise<string> | null;
  provider: string | null;
  /** Why the worker's session is not on the requested/preferred provider, or null. */
  fallbackReason: string | null;
  busy: boolean;
  /** Receives the messages for the job the slot is running. */
  onMessage: ((m: FromWorker) => void) | null;
  onDeath: ((reason: string) => void) | null;
}

interface InFlight {
  job: Job;
  /** Settles the job's run promise without touching the store (shutdown). */
  release: (() => void) | null;
  done: Promise<void> | null;
  slot: Slot | null;
  lastPersist: number;
  cancelTimer: NodeJS.Timeout | null;
  canceled: boolean;
  /** Another runner owns the job now: stop, and leave its state and files alone. */
  lost: boolean;
}

/** Removes `*.partial` files the engine left in a job folder (crash, kill). */
export function removePartials(dir: string | null): number {
  if (!dir) return 0;
  let n = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!isPartialName(name)) continue;
    try {
      fs.rmSync(path.join(dir, name), { force: true, recursive: true });
      n++;
    } catch {
      // best effort
    }
  }
  return n;
}

/** Removes a job folder left empty by a failed or canceled job (never a folder with files). */
export function removeEmptyDir(dir: string | null): void {
  if (!dir) return;
  try {
    fs.rmdirSync(dir);
  } catch {
    // not empty, or gone
  }
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly inflight = new Map<string, InFlight>();
  private pumping = false;
  private pumpAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private started = false;
  paused = false;
  /** Providers reported by workers' `ready` messages. */
  readonly providers = new Set<string>();
  /** Fallback reasons reported by workers' `ready` messages (Diagnostics). */
  readonly fallbackReasons = new Set<string>();

  constructor(private readonly o: PoolOptions) {}

  /**
   * How the cores are shared: never more workers than cores, and each worker's ONNX Runtime
   * gets its share of intra-op threads (every worker taking every core made N workers fight
   * over the same cores, each slower than one alone).
   */
  plan(): { concurrency: number; workers: number; cores: number; threadsPerWorker: number; note: string | null } {
    const concurrency = Math.max(1, this.o.size());
    const cores = Math.max(1, this.o.cores?.() ?? (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
    const workers = Math.min(concurrency, cores);
    const threadsPerWorker = Math.max(1, Math.floor(cores / workers));
    const note =
      concurrency > cores
        ? `Concurrency ${concurrency} is more than this machine's ${cores} CPU core${cores === 1 ? '' : 's'}: running ${workers} at a time (more would only make each one slower).`
        : null;
    return { concurrency, workers, cores, threadsPerWorker, note };
  }

  get running(): number {
    return this.inflight.size;
  }
  get workers(): number {
    return this.slots.filter((s) => s.worker).length;
  }
  isRunningHere(id: string): boolean {
    return this.inflight.has(id);
  }
  runningJob(id: string): Job | null {
    return this.inflight.get(id)?.job ?? null;
  }

  start(pollMs = 1000): void {
    if (this.timer) return;
    this.started = true;
    this.timer = setInterval(() => {
      this.heartbeatJobs();
      this.checkExternal();
      this.pump();
    }, pollMs);
    this.timer.unref();
    this.pump();
  }

  /** Claims queued jobs while there is capacity. Safe to call often. */
  pump(): void {
    if (!this.started || this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (!this.closed && !this.paused && this.inflight.size < this.plan().workers) {
          const job = this.o.backend.claim();
          if (!job) break;
          this.disarmIdle();
          const entry: InFlight = { job, release: null, done: null, slot: null, lastPersist: 0, cancelTimer: null, canceled: false, lost: false };
          this.inflight.set(job.id, entry);
          this.o.onChange?.();
          entry.done = this.runJob(entry)
            .catch((e) => {
              if (this.closed) return;
              this.o.log?.(`queue error on job ${job.id}: ${(e as Error).stack ?? e}`);
              this.o.backend.fail(job.id, { code: 'INTERNAL', message: `Unexpected error: ${(e as Error).message}` });
            })
            .finally(() => {
              if (entry.cancelTimer) clearTimeout(entry.cancelTimer);
              if (this.closed) return;
              if (this.o.backend.status(job.id) !== 'done') removeEmptyDir(job.outputDir);
              this.inflight.delete(job.id);
              if (entry.slot) entry.slot.busy = false;
              this.o.onChange?.();
              this.pump();
              if (this.inflight.size === 0) this.armIdle();
            });
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  /** No job runs here: the workers' sessions are released after idleReleaseMs unless a job comes. */
  private armIdle(): void {
    this.disarmIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.closed || this.inflight.size > 0) return;
      const idle = this.slots.filter((s) => s.worker && !s.busy);
      if (!idle.length) return;
      for (const s of idle) void this.dispose(s, false).then(() => this.o.onChange?.());
    }, this.o.idleReleaseMs ?? 5 * 60_000);
    this.idleTimer.unref();
  }

  private disarmIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /**
   * Asks the worker running this job to stop (it removes its partial files and answers CANCELED).
   * The engine stops between segments; a worker is never terminated while it may be inside the
   * model's native run (that aborts the whole process), so a slow answer is only logged.
   */
  cancel(id: string): void {
    const entry = this.inflight.get(id);
    if (!entry || entry.canceled) return;
    entry.canceled = true;
    const slot = entry.slot;
    if (slot?.worker) {
      this.post(slot, { type: 'cancel', jobId: id });
      entry.cancelTimer = setTimeout(() => {
        if (this.inflight.get(id) === entry) this.o.log?.(`demix: job ${id} is still finishing its current segment after being canceled; it stops when that segment ends`);
      }, this.o.cancelGraceMs ?? 15_000);
      entry.cancelTimer.unref();
    }
  }

  /** Resolves when this process no longer runs the job (at once when it does not run it). */
  async whenStopped(id: string): Promise<void> {
    const entry = this.inflight.get(id);
    if (entry?.done) await entry.done.catch(() => {});
    else if (entry) await new Promise<void>((r) => {
      const t = setInterval(() => {
        if (this.inflight.get(id) !== entry) {
          clearInterval(t);
          r();
        }
      }, 20);
    });
  }

  /**
   * Refreshes the heartbeat of the jobs this runner runs. A job it no longer owns (taken over by
   * another runner after this one lost the lock) is stopped at once; its state and files are the
   * new owner's (this run's temp files carry their own tag, so they never collide).
   */
  private heartbeatJobs(): void {
    const ids = [...this.inflight].filter(([, e]) => !e.lost).map(([id]) => id);
    let lost: string[];
    try {
      lost = this.o.backend.heartbeat?.(ids) ?? [];
    } catch {
      return; // busy database: next tick
    }
    for (const id of lost) {
      const e = this.inflight.get(id);
      if (!e || e.lost) continue;
      // Canceled or removed (not taken over): checkExternal stops it the usual way.
      if (this.o.backend.status(id) !== 'running') continue;
      e.lost = true;
      this.o.log?.(`demix: job ${id} is no longer this process's (another runner took it over); stopping it here`);
      if (e.canceled) continue;
      e.canceled = true;
      if (e.slot?.worker) this.post(e.slot, { type: 'cancel', jobId: id });
    }
  }

  /**
   * This runner lost the runner lock: stop starting jobs, stop the running ones between segments
   * and wait for them, then put the ones it still owns back in the queue (for the new runner).
   */
  async relinquish(): Promise<void> {
    this.paused = true;
    const entries = [...this.inflight.values()];
    for (const e of entries) {
      if (e.canceled) continue;
      e.canceled = true;
      if (e.slot?.worker) this.post(e.slot, { type: 'cancel', jobId: e.job.id });
    }
    await Promise.all(entries.map((e) => e.done?.catch(() => {})));
    for (const e of entries) if (!e.lost) this.o.backend.requeue(e.job.id);
  }

  /** Jobs canceled or removed by another process (or through the store) are stopped here too. */
  private checkExternal(): void {
    for (const [id, entry] of this.inflight) {
      if (entry.canceled) continue;
      const status = this.o.backend.status(id);
      if (status !== 'running') this.cancel(id);
    }
  }

  private async runJob(entry: InFlight): Promise<void> {
    const { job } = entry;
    // The worker starts (thread + model load, seconds) while the job is prepared (input checks,
    // content hash, cache lookup, output folder): the first audio comes that much sooner. A worker
    // started for a job that then needs no run stays for the next job (or until it idles out).
    const key = this.workerKey(job);
    const slot = this.takeSlot(key);
    entry.slot = slot;
    const ready = this.ensureWorker(slot, job);
    ready.catch(() => {});
    const prep = await this.o.prepare(job);
    if (!prep.run || this.closed) return;
    if (entry.canceled || this.o.backend.status(job.id) !== 'running') return;

    let provider: string;
    try {
      provider = await ready;
      // The worker died while the job was being prepared: start another one.
      if (!slot.worker) provider = await this.ensureWorker(slot, job);
    } catch (e) {
      if (this.closed) return;
      const err = e as JobError;
      this.o.backend.fail(job.id, { code: err.code ?? 'INTERNAL', message: err.message ?? String(e) });
      return;
    }
    if (this.closed || entry.canceled || this.o.backend.status(job.id) !== 'running') return;
    entry.job = { ...entry.job, provider, fallbackReason: slot.fallbackReason };
    this.o.onProvider?.(entry.job, provider, slot.fallbackReason);

    await new Promise<void>((resolve) => {
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        entry.release = null;
        slot.onMessage = null;
        slot.onDeath = null;
        resolve();
      };
      entry.release = finish;
      slot.onDeath = (reason) => {
        if (!entry.lost) removePartials(job.outputDir);
        this.o.backend.fail(job.id, {
          code: 'INTERNAL',
          message: `The separation engine stopped unexpectedly (${reason}); retry the job, and report it if it happens again.`,
        });
        finish();
      };
      slot.onMessage = (m) => {
        if (!('jobId' in m) || m.jobId !== job.id) return;
        if (m.type === 'progress') this.onProgress(entry, m.progress);
        else if (m.type === 'done') {
          const r = m.result;
          this.providers.add(r.provider);
          // A provider that failed mid-job: the worker finished on the CPU and stays there.
          if (r.fallbackReason && r.fallbackReason !== slot.fallbackReason) {
            slot.provider = r.provider;
            slot.fallbackReason = r.fallbackReason;
            this.fallbackReasons.add(r.fallbackReason);
            this.o.onProvider?.({ ...entry.job, provider: r.provider, fallbackReason: r.fallbackReason }, r.provider, r.fallbackReason);
          }
          const completed = this.o.backend.complete(job.id, {
            stems: r.stems.map((s) => ({ name: s.name, path: s.path, format: s.format, durationSec: s.durationSec })),
            durationSec: r.durationSec,
            provider: r.provider,
            analysis: r.analysis ?? null,
          });
          // Canceled or removed while its last segment ran: its files have no record (and will
          // not get one); do not leave them behind. (Any other state: another run owns the folder.)
          if (!completed) {
            const now = this.o.backend.status(job.id);
            if (now === null || now === 'canceled') for (const s of r.stems) fs.rmSync(s.path, { force: true });
          }
          finish();
        } else if (m.type === 'failed') {
          // A CANCELED answer for a job canceled in the store changes nothing (guarded update).
          this.o.backend.fail(job.id, m.error);
          finish();
        }
      };
      this.post(slot, {
        type: 'run',
        jobId: job.id,
        input: job.inputPath,
        outDir: job.outputDir!,
        options: {
          format: job.options.format,
          bits: job.options.bits,
          clipMode: job.options.clipMode,
          twoStems: job.options.twoStems,
          shifts: job.options.shifts,
          excerpt: job.excerpt ?? null,
          runTag: randomBytes(4).toString('hex'),
        },
      });
    });
  }

  private onProgress(entry: InFlight, p: { fraction: number; segmentsDone: number; segmentsTotal: number; etaSec: number | null; readyFrames?: number }): void {
    if (entry.canceled) return;
    const update = {
      progress: Math.min(1, Math.max(0, p.fraction)),
      segmentsDone: p.segmentsDone,
      segmentsTotal: p.segmentsTotal,
      etaSec: p.etaSec === null ? null : Math.max(0, p.etaSec),
      readySamples: p.readyFrames ? p.readyFrames : null,
    };
    // The first playable audio is persisted at once (another process may serve it).
    if (update.readySamples && !entry.job.readySamples) entry.lastPersist = 0;
    entry.job = { ...entry.job, ...update };
    const now = Date.now();
    if (now - entry.lastPersist >= (this.o.persistEveryMs ?? 1000)) {
      entry.lastPersist = now;
      if (!this.o.backend.progress(entry.job.id, update)) {
        this.cancel(entry.job.id);
        return;
      }
    }
    this.o.emitProgress(entry.job);
  }

  private takeSlot(key: string): Slot {
    const size = this.plan().workers;
    while (this.slots.length < size) {
      this.slots.push({ index: this.slots.length, worker: null, key: null, ready: null, provider: null, fallbackReason: null, busy: false, onMessage: null, onDeath: null });
    }
    const free = this.slots.filter((s) => !s.busy);
    const slot = free.find((s) => s.key === key && s.worker) ?? free.find((s) => !s.worker) ?? free[0];
    if (!slot) throw new Error('no free worker slot (pool accounting error)');
    slot.busy = true;
    // Shrink: slots beyond the wanted size are disposed when idle.
    for (const s of this.slots.slice(size)) if (!s.busy && s.worker) void this.dispose(s, false);
    return slot;
  }

  /** Workers are reused for the same model, device and thread share. */
  private workerKey(job: Job): string {
    return `${job.options.modelId}|${job.options.device}|${this.plan().threadsPerWorker}`;
  }

  private async ensureWorker(slot: Slot, job: Job): Promise<string> {
    const key = this.workerKey(job);
    if (slot.worker && slot.key === key && slot.ready) return slot.ready;
    if (slot.worker) await this.dispose(slot, false);
    const worker: EngineWorkerHandle = this.o.spawnEngine
      ? this.o.spawnEngine(this.o.workerScript, { nice: this.o.engineNice })
      : new ProcessWorker(this.o.workerScript, { nice: this.o.engineNice });
    slot.worker = worker;
    slot.key = key;
    slot.provider = null;
    slot.fallbackReason = null;
    slot.ready = new Promise<string>((resolve, reject) => {
      let initDone = false;
      worker.on('message', (m: FromWorker) => {
        if (!initDone) {
          if (m.type === 'ready') {
            initDone = true;
            slot.provider = m.provider;
            slot.fallbackReason = m.fallbackReason ?? null;
            this.providers.add(m.provider);
            if (slot.fallbackReason) this.fallbackReasons.add(slot.fallbackReason);
            this.o.onChange?.();
            resolve(m.provider);
          } else if (m.type === 'init-error') {
            initDone = true;
            void this.dispose(slot, true);
            reject(m.error);
          }
          return;
        }
        slot.onMessage?.(m);
      });
      const died = (reason: string) => {
        if (slot.worker !== worker) return;
        slot.worker = null;
        slot.ready = null;
        slot.key = null;
        if (!initDone) {
          initDone = true;
          reject({ code: 'INTERNAL', message: `The separation engine failed to start (${reason}).` });
        } else slot.onDeath?.(reason);
        this.o.onChange?.();
      };
      worker.on('error', (e) => died(`worker error: ${e.message}`));
      worker.on('exit', (code) => died(`worker exited with code ${code}`));
    });
    // Avoid an unhandled rejection if nobody awaits (init failure after dispose).
    slot.ready.catch(() => {});
    this.post(slot, { type: 'init', modelId: job.options.modelId, device: job.options.device, threads: this.plan().threadsPerWorker, nice: this.o.engineNice });
    return slot.ready;
  }

  private post(slot: Slot, msg: ToWorker): void {
    slot.worker?.postMessage(msg);
  }

  private async dispose(slot: Slot, force: boolean): Promise<void> {
    const w = slot.worker;
    const ready = slot.ready;
    slot.worker = null;
    slot.ready = null;
    slot.key = null;
    if (!w) return;
    if (!force) {
      // A worker still loading its model (started while its job was prepared, and the job then
      // needed no run) is let finish the load first: its model thread must not end inside
      // ONNX Runtime's native session creation.
      if (ready) await Promise.race([ready.catch(() => {}), new Promise((r) => setTimeout(r, 10 * 60_000).unref())]);
      w.postMessage({ type: 'shutdown' } satisfies ToWorker);
      const exited = await Promise.race([
        new Promise<boolean>((r) => w.once('exit', () => r(true))),
        // The engine finishes the model run in flight before it exits (a segment takes seconds on
        // a slow CPU); terminating a thread inside ONNX Runtime's native code aborts the process.
        new Promise<boolean>((r) => setTimeout(() => r(false), 10 * 60_000).unref()),
      ]);
      if (exited) return;
      this.o.log?.('demix: an engine worker did not exit within 10 minutes of being asked to; terminating it');
    }
    await w.terminate();
  }

  /**
   * Stops everything: running jobs go back to queued first (so nothing can finish them as
   * "done" or "failed" from here on), then each worker is asked to stop between segments and
   * waited for (never terminated inside a model run), then the partial files are removed.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.disarmIdle();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const entries = [...this.inflight.values()];
    for (const e of entries) {
      e.canceled = true;
      if (e.cancelTimer) clearTimeout(e.cancelTimer);
      this.o.backend.requeue(e.job.id);
      if (e.slot?.worker) this.post(e.slot, { type: 'cancel', jobId: e.job.id });
    }
    // The runs end at their next segment boundary; preparations (hashing, cache copies) settle.
    await Promise.race([Promise.all(entries.map((e) => e.done)), new Promise((r) => setTimeout(r, this.o.closeGraceMs ?? 10 * 60_000).unref())]);
    for (const e of entries) e.release?.();
    await Promise.all(this.slots.map((s) => this.dispose(s, false)));
    for (const e of entries) if (!e.lost) removePartials(e.job.outputDir);
    this.inflight.clear();
  }
}
