/**
 * The main-process core: job store + queue + services, shared by the Electron shell, the web
 * bridge and the CLI. Plain Node (never imports electron).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CONTRACT_VERSION,
  type Diagnostics,
  type EventName,
  type EventPayload,
  type Job,
  type JobStatus,
  type ParsedRequestOf,
  type Peaks,
  type QueueState,
  type ResponseOf,
  type Settings,
} from '../preload/contract.ts';
import { Bus } from './bus.ts';
import { CoreError } from './core-error.ts';
import { JobsService, type AddOptions } from './jobs.ts';
import { createMediaService } from './media-service.ts';
import { MediaThread } from './media-thread.ts';
import { createObserver } from './observer.ts';
import { DB_FILE_NAME } from './paths.ts';
import type { LockHolder } from './queue/lock.ts';
import type { SpawnEngine } from './queue/process-worker.ts';
import { EmbeddedQueue } from './queue/embedded-queue.ts';
import { chooseQueueUrl, type JobQueue } from './queue/queue.ts';
import { SettingsStore } from './settings.ts';
import { openDatabase } from './store/db.ts';
import { JobStore } from './store/job-store.ts';
import { jobs as jobsTable } from './store/schema.ts';
import { eq } from 'drizzle-orm';
import { engineWorkerPath } from '../engine/worker-path.ts';
import { UploadError, pruneUploads, removeUploadedFile, uploadEntry } from './uploads.ts';

export type { AddOptions } from './jobs.ts';

export interface CoreOptions {
  dataDir: string;
  host: 'electron' | 'web' | 'cli';
  appVersion: string;
  /** Tests: a fake engine worker script speaking engine/worker-protocol.ts. */
  workerScript?: string;
  /** How engine processes start (default: Node's child_process.fork; the app: Electron's utilityProcess, main/electron/engine-process.ts). */
  spawnEngine?: SpawnEngine;
  /** The media worker (peaks, mixdown); default: main/media-worker-entry.mjs from sources, dist/media-worker.js bundled. */
  mediaWorkerScript?: string;
  /** Start the worker pool (default true). When another process holds the runner lock, no workers run here. */
  startQueue?: boolean;
  /** Where warnings go (a corrupt database moved aside, a lost runner lock); default console.warn. */
  onWarning?: (message: string) => void;
  /** Milliseconds between checks for work added by other processes (default 1000). */
  pollMs?: number;
  /**
   * The queue: undefined/null for the embedded queue (default), or a Redis URL
   * (redis://[:password@]host:port[/db], rediss:// for TLS) for BullMQ workers on any machine.
   */
  queueUrl?: string | null;
  /** After this long without a worker's answer to a cancel, a line is logged (default 15 s). */
  cancelGraceMs?: number;
  /** Idle engine workers (one model session each, 3.6-5 GB) are stopped after this long (default 5 minutes). */
  workerIdleMs?: number;
  /** CPU cores the workers share (default: os.availableParallelism()). */
  cores?: number;
  /** Runner lock timing (tests): heartbeat period and the silence after which it is taken over. */
  lockHeartbeatMs?: number;
  lockStaleMs?: number;
}

export interface Core {
  dataDir: string;
  dbPath: string;
  bus: { on<E extends EventName>(e: E, cb: (p: EventPayload<E>) => void): () => void };
  jobs: {
    addPaths(paths: string[], options?: AddOptions): Promise<ResponseOf<'jobs:add-files'>>;
    addFolder(path: string, options?: AddOptions): Promise<ResponseOf<'jobs:add-folder'>>;
    /** A quick excerpt of a job's song that jumps the queue (jobs:preview). */
    preview(id: string, startSec?: number, endSec?: number): Promise<Job>;
    /** Enqueues what was uploaded under `uploadId` (main/uploads.ts): a file, or a folder as one batch. */
    addUpload(uploadId: string, options?: AddOptions): Promise<ResponseOf<'jobs:add-upload'>>;
    list(req: ParsedRequestOf<'jobs:list'>): ResponseOf<'jobs:list'>;
    /** Throws CoreError NOT_FOUND. */
    get(id: string): Job;
    /** CoreError CONFLICT when the state doesn't allow it. */
    cancel(id: string): Job;
    retry(id: string): Job;
    /** Cancels a queued/running job and waits for its run to stop, then removes it. */
    remove(id: string, deleteFiles: boolean): Promise<void>;
    reorder(id: string, beforeId: string | null): Job[];
    peaks(id: string, stem: string, buckets: number): Promise<Peaks>;
    exportMixdown(req: ParsedRequestOf<'mixdown:export'>): Promise<ResponseOf<'mixdown:export'>>;
    /** Absolute path of a stem file (or 'mix' = the job's input, or a mixdown file name) owned by the job, or null. */
    mediaPath(jobId: string, stem: string): string | null;
    /** Whether a path is a job's input, output folder, stem or mixdown (what `shell:reveal` may show). */
    ownsPath(p: string): Promise<boolean>;
    /** Extra (CLI): several jobs at once, missing ids left out. */
    getMany(ids: string[]): Job[];
    /** Extra (CLI `clean`): removes finished job records (and their files when asked); returns how many. */
    clean(opts: { statuses: JobStatus[]; deleteFiles: boolean }): number;
  };
  queue: { pause(): QueueState; resume(): QueueState; state(): QueueState };
  settings: { get(): Settings; set(patch: Partial<Settings>): Settings };
  diagnostics(host: 'electron' | 'web'): Promise<Diagnostics>;
  close(): Promise<void>;
  /** Who runs the workers for this database (extra; the CLI reports it). */
  runner: {
    /** True when this core holds the single-runner lock and runs workers. */
    isRunner(): boolean;
    /** The other process holding the lock, when this core is not the runner. */
    holder(): LockHolder | null;
  };
  /** Which queue runs the jobs: the embedded one or Redis (and where). */
  queueKind(): { kind: 'embedded' | 'redis'; where: string };
}

export async function createCore(opts: CoreOptions): Promise<Core> {
  const dataDir = path.resolve(opts.dataDir);
  const dbPath = path.join(dataDir, DB_FILE_NAME);
  const warn = opts.onWarning ?? ((m: string) => console.warn(`demix: ${m}`));
  const { db, sqlite } = openDatabase(dbPath, { onWarning: warn });
  const bus = new Bus();
  const store = new JobStore(db, bus);
  let queue: JobQueue;
  const settingsStore = new SettingsStore(db, () => queue.pump());
  const service = new JobsService(store, () => queue, () => settingsStore.get());
  // liveJob: a running job's in-memory progress (its ready position) is fresher than the row.
  const media = createMediaService({ db, store, thread: new MediaThread(opts.mediaWorkerScript), liveJob: (id) => core.jobs.get(id) });

  // ---- queue state (coalesced: a 1,000-job insert emits one queue-state) ----
  const active = new Set<string>();
  let finishedSinceIdle = 0;
  let stateTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const queueState = (): QueueState => {
    const c = store.counts();
    const activeCount = c.queued + c.running;
    if (activeCount === 0) finishedSinceIdle = 0;
    let runningProgress = 0;
    for (const id of active) runningProgress += queue.live(id)?.progress ?? 0;
    const denom = finishedSinceIdle + activeCount;
    return {
      paused: queue.paused,
      queued: c.queued,
      running: c.running,
      workers: queue.workers(),
      overallProgress: denom === 0 ? null : Math.min(1, (finishedSinceIdle + runningProgress) / denom),
    };
  };
  const scheduleState = () => {
    if (stateTimer || closed) return;
    stateTimer = setTimeout(() => {
      stateTimer = null;
      if (!closed) bus.emit('queue-state', queueState());
    }, 50);
    stateTimer.unref();
  };
  bus.on('job-updated', (j) => {
    if (j.status === 'queued' || j.status === 'running') active.add(j.id);
    else if (active.delete(j.id)) finishedSinceIdle++;
    scheduleState();
  });
  bus.on('job-removed', ({ id }) => {
    active.delete(id);
    scheduleState();
  });

  // --queue / CoreOptions.queueUrl, then DEMIX_QUEUE, then the app setting; embedded by default.
  const fromSetting = opts.queueUrl === undefined && !process.env.DEMIX_QUEUE;
  const queueUrl = chooseQueueUrl(opts.queueUrl, settingsStore.get().queueUrl);
  let embeddedPaused = false;
  if (queueUrl) {
    const { openRedisQueue } = await import('./queue/redis-queue.ts');
    try {
      queue = await openRedisQueue({
        url: queueUrl,
        store,
        bus,
        warn,
        onChange: scheduleState,
        follow: opts.startQueue !== false,
        fromCache: (id) => service.completeFromCache(id),
      });
    } catch (e) {
      if (!fromSetting) {
        sqlite.close();
        throw e;
      }
      // The app's setting names a Redis that does not answer: keep the app usable, run nothing here.
      warn(`${(e as Error).message} Jobs stay queued on this machine (paused) until the queue setting is fixed.`);
      embeddedPaused = true;
    }
  }
  if (!queue!) {
    queue = new EmbeddedQueue({
      store,
      sqlite,
      bus,
      settings: () => settingsStore.get(),
      prepare: (job, run) => service.prepare(job, run),
      workerScript: opts.workerScript ?? engineWorkerPath(),
      spawnEngine: opts.spawnEngine,
      pollMs: opts.pollMs,
      startQueue: embeddedPaused ? false : opts.startQueue,
      cancelGraceMs: opts.cancelGraceMs,
      workerIdleMs: opts.workerIdleMs,
      cores: opts.cores,
      // The app and serve host a UI: the model yields the CPU to their event loop (Linux). The CLI
      // has nothing else to do, so its engine keeps the normal priority.
      engineNice: opts.host === 'cli' ? undefined : 10,
      lockHeartbeatMs: opts.lockHeartbeatMs,
      lockStaleMs: opts.lockStaleMs,
      onChange: scheduleState,
      warn,
    });
  }

  // ---- following work done by other processes (another runner, a CLI adding or canceling jobs) ----
  const observer = createObserver({
    sqlite,
    store,
    bus,
    isRunningHere: (id) => !!queue.live(id),
    pollMs: opts.pollMs ?? 1000,
    // The embedded queue's runner also requeues jobs whose owner stopped (another process died mid-job).
    onTick: () => queue.maintain(),
  });

  // ---- browser uploads: originals live while their job does ----
  const uploadedInput = (id: string): string | null => {
    const r = db.select({ inputPath: jobsTable.inputPath, uploaded: jobsTable.uploaded }).from(jobsTable).where(eq(jobsTable.id, id)).get();
    return r?.uploaded ? r.inputPath : null;
  };
  /** Deletes an uploaded original once no job refers to it any more. */
  const dropOriginal = (original: string | null) => {
    if (original && !db.select({ id: jobsTable.id }).from(jobsTable).where(eq(jobsTable.inputPath, original)).get()) removeUploadedFile(dataDir, original);
  };
  const pruneOrphanUploads = () => {
    try {
      pruneUploads(dataDir, (dir) => store.anyInputUnder(dir));
    } catch (e) {
      warn(`Could not tidy the uploads folder: ${(e as Error).message}`);
    }
  };
  if (opts.host === 'web') pruneOrphanUploads();
  const addUpload = async (uploadId: string, options?: AddOptions): Promise<ResponseOf<'jobs:add-upload'>> => {
    let entry: string;
    try {
      entry = uploadEntry(dataDir, uploadId);
    } catch (e) {
      if (e instanceof UploadError) throw new CoreError(e.code, e.message);
      throw e;
    }
    const res = await service.addPaths([entry], { ...options, uploaded: true });
    // Nothing of it became a job (e.g. a folder with no audio): nothing keeps the files.
    const dir = path.dirname(entry);
    if (!store.anyInputUnder(dir)) fs.rmSync(dir, { recursive: true, force: true });
    return res;
  };

  const diagnostics = async (host: 'electron' | 'web'): Promise<Diagnostics> => {
    const { engineDiagnostics } = await import('../engine/doctor.ts');
    const eng = await engineDiagnostics();
    return {
      appVersion: opts.appVersion,
      contractVersion: CONTRACT_VERSION,
      host,
      platform: `${process.platform} ${os.release()}`,
      arch: process.arch,
      nodeVersion: process.versions.node,
      electronVersion: process.versions.electron ?? null,
      ffmpeg: eng.ffmpeg,
      models: eng.models,
      providers: { available: eng.providers.available, inUse: queue.providers(), fallbackReasons: queue.fallbackReasons() },
      workers: queue.plan(),
      databasePath: dbPath,
      dataDir,
    };
  };

  const core: Core = {
    dataDir,
    dbPath,
    bus: { on: (e, cb) => bus.on(e, cb) },
    jobs: {
      addPaths: (paths, options) => service.addPaths(paths, options),
      addFolder: (p, options) => service.addFolder(p, options),
      preview: (id, startSec, endSec) => service.preview(id, startSec, endSec),
      addUpload,
      list: (req) => {
        const { jobs, total } = store.list(req);
        // Running jobs: the in-memory progress is fresher than the persisted one.
        const fresh = jobs.map((j) => (j.status === 'running' ? (queue.live(j.id) ? { ...j, ...pick(queue.live(j.id)!) } : j) : j));
        const batchIds = [...new Set(jobs.map((j) => j.batchId).filter((b): b is string => !!b))];
        return { jobs: fresh, batches: store.batches(batchIds), total };
      },
      get: (id) => {
        const j = store.get(id);
        const live = j.status === 'running' ? queue.live(id) : null;
        return live ? { ...j, ...pick(live) } : j;
      },
      cancel: (id) => service.cancel(id),
      retry: (id) => service.retry(id),
      remove: async (id, deleteFiles) => {
        const original = uploadedInput(id);
        await service.remove(id, deleteFiles);
        dropOriginal(original);
      },
      reorder: (id, beforeId) => queue.reorder(id, beforeId),
      peaks: (id, stem, buckets) => media.peaks(id, stem, buckets),
      exportMixdown: (req) => media.exportMixdown(req),
      mediaPath: (id, stem) => media.mediaPath(id, stem),
      ownsPath: (p) => media.ownsPath(p),
      getMany: (ids) => store.getMany(ids).map((j) => {
        const live = j.status === 'running' ? queue.live(j.id) : null;
        return live ? { ...j, ...pick(live) } : j;
      }),
      clean: ({ statuses, deleteFiles }) => {
        const finals = statuses.filter((s) => s === 'done' || s === 'failed' || s === 'canceled');
        const { jobs } = store.list({ status: finals, limit: 1_000_000, offset: 0 });
        for (const j of jobs) {
          const original = uploadedInput(j.id);
          service.removeRecord(j.id, deleteFiles);
          dropOriginal(original);
        }
        pruneOrphanUploads();
        return jobs.length;
      },
    },
    queue: {
      pause: () => {
        queue.pause();
        const s = queueState();
        bus.emit('queue-state', s);
        return s;
      },
      resume: () => {
        queue.resume();
        const s = queueState();
        bus.emit('queue-state', s);
        return s;
      },
      state: () => queueState(),
    },
    settings: { get: () => settingsStore.get(), set: (patch) => settingsStore.set(patch) },
    diagnostics,
    runner: { isRunner: () => queue.isRunner(), holder: () => queue.holder() },
    queueKind: () => ({ kind: queue.kind, where: queue.where }),
    close: async () => {
      if (closed) return;
      closed = true;
      if (stateTimer) clearTimeout(stateTimer);
      observer.close();
      await queue.close();
      await media.close();
      sqlite.close();
    },
  };
  return core;
}

function pick(j: Job): Pick<Job, 'progress' | 'segmentsDone' | 'segmentsTotal' | 'etaSec' | 'provider' | 'readySamples'> {
  return { progress: j.progress, segmentsDone: j.segmentsDone, segmentsTotal: j.segmentsTotal, etaSec: j.etaSec, provider: j.provider, readySamples: j.readySamples ?? null };
}
