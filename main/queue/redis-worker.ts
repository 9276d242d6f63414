/**
 * `demix worker --queue redis://…`: takes jobs from BullMQ, runs the engine, reports progress.
 *
 *  - The engine runs on worker threads (engine-thread.ts): the main thread stays free to renew
 *    BullMQ's job locks however long `session.run` blocks.
 *  - A killed worker's lock expires after `lockDuration` (set from the measured segment time, see
 *    lockSettings); another worker's stalled check (every `stalledInterval`) puts the job back, up
 *    to `maxStalledCount` times, so it finishes elsewhere instead of failing.
 *  - Outputs are idempotent: partial files of an earlier attempt are removed before a run, the
 *    engine writes `*.partial` and renames, so a job that reappears ends with exactly one stem set.
 *  - Inputs and outputs live on shared storage, mapped per worker with --path-map FROM=TO; a path
 *    this worker cannot read or write fails that job with one line naming the path and the host.
 *  - Losing Redis: the current run goes on, the connection retries with backoff, one line reports it.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeviceChoice } from '../../preload/contract.ts';
import { defaultCacheDir } from '../../models/registry.ts';
import { makeDirs, outputError } from '../jobs.ts';
import { removeEmptyDir, removePartials } from './pool.ts';
import { EngineThread, type EngineError } from './engine-thread.ts';
import { CANCEL_CHANNEL, KEY_PREFIX, QUEUE_NAME, cancelKey, checkRedis, parseQueueUrl, redisConnection } from './redis-conn.ts';
import { encodeError, toSubmitterPath, toWorkerPath, type PathMap, type RemoteJobData, type RemoteProgress, type RemoteResult } from './redis-protocol.ts';

export interface RedisWorkerOptions {
  url: string;
  concurrency: number;
  /** Overrides the jobs' device (this machine's accelerator). */
  device?: DeviceChoice;
  pathMap: PathMap;
  workerScript: string;
  modelsDir?: string;
  log: (line: string) => void;
  /** Job lock lifetime (renewed every half of it while the job runs). Default: from the measured segment time (lockSettings). */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired (their worker died). Default: half the lock. */
  stalledIntervalMs?: number;
  /** How many times a job may lose its worker and still run again elsewhere (default 3). */
  maxStalledCount?: number;
  /** The model whose segment time sets the lock (default htdemucs, the app's default model). */
  calibrationModel?: string;
  /** Where measured segment times are kept (default: Demix's cache folder). */
  cacheDir?: string;
  /** Host name reported with progress (default DEMIX_WORKER_HOST, then os.hostname()). */
  host?: string;
}

export interface RunningWorker {
  /** Resolves when the worker stopped (close() or a fatal error). */
  closed: Promise<void>;
  /** Graceful (finish the jobs in flight) unless forced. */
  close(force?: boolean): Promise<void>;
  /** Jobs running now. */
  running(): number;
  /** Jobs finished by this worker so far. */
  processed(): number;
  /** The job lock in use (and the segment time it was set from). */
  lock: LockSettings;
}

/** The job lock lasts at least this long (a model load, a slow disk, a busy machine stay within it). */
export const LOCK_FLOOR_MS = 60_000;
/** … and at least this many measured segment times (a slow machine gets a longer lock). */
export const LOCK_SEGMENTS = 8;
/** … and at most this long (a dead worker's job must come back within the hour). */
export const LOCK_CEIL_MS = 30 * 60_000;

export interface LockSettings {
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  /** The segment time the lock was set from (ms), and where it came from. */
  segmentMs: number | null;
  source: 'measured' | 'cached' | 'given' | 'floor';
}

/**
 * BullMQ's job lock from the measured segment time: `lockDuration` = LOCK_SEGMENTS segment times,
 * at least the floor (DEMIX_REDIS_LOCK_FLOOR_MS, default 60 s), at most 30 min; the lock is renewed
 * every half of it. `stalledInterval` (how often workers look for jobs whose lock expired, i.e.
 * whose worker died) is half the lock, 1 s to 5 min, so a dead worker's job is back in the queue
 * within 1.5 lock durations. `maxStalledCount` ≥ 1: a job whose worker is killed runs again
 * elsewhere instead of failing; only a job that loses its worker more often than that fails.
 * Explicit settings (options, DEMIX_REDIS_LOCK_MS / DEMIX_REDIS_STALLED_MS / DEMIX_REDIS_MAX_STALLED) win.
 */
export function lockSettings(
  segmentMs: number | null,
  o: Pick<RedisWorkerOptions, 'lockDurationMs' | 'stalledIntervalMs' | 'maxStalledCount'> = {},
  source: LockSettings['source'] = 'measured',
  env: NodeJS.ProcessEnv = process.env,
): LockSettings {
  const num = (k: string) => {
    const v = env[k] ? Number(env[k]) : NaN;
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const given = o.lockDurationMs ?? num('DEMIX_REDIS_LOCK_MS');
  const floor = num('DEMIX_REDIS_LOCK_FLOOR_MS') ?? LOCK_FLOOR_MS;
  const measured = segmentMs !== null && Number.isFinite(segmentMs) && segmentMs > 0 ? segmentMs : null;
  const lockDuration = Math.round(given ?? Math.min(LOCK_CEIL_MS, Math.max(floor, measured !== null ? LOCK_SEGMENTS * measured : 0)));
  const stalledInterval = Math.round(o.stalledIntervalMs ?? num('DEMIX_REDIS_STALLED_MS') ?? Math.min(5 * 60_000, Math.max(1000, lockDuration / 2)));
  const maxStalledCount = Math.max(1, Math.floor(o.maxStalledCount ?? num('DEMIX_REDIS_MAX_STALLED') ?? 3));
  return {
    lockDuration,
    stalledInterval,
    maxStalledCount,
    segmentMs: given !== undefined ? null : measured,
    source: given !== undefined ? 'given' : measured === null ? 'floor' : source,
  };
}

/** One line for the worker's start: the lock and where it came from. */
export function describeLock(l: LockSettings): string {
  const s = (ms: number) => `${ms >= 10_000 ? Math.round(ms / 1000) : (ms / 1000).toFixed(1)} s`;
  const why =
    l.source === 'given'
      ? 'as set'
      : l.segmentMs === null
        ? 'the floor: segment time not measured'
        : `${LOCK_SEGMENTS} × one segment of ${s(l.segmentMs)}, ${l.source}, or the floor`;
  return `job lock ${s(l.lockDuration)} (${why}), stalled check every ${s(l.stalledInterval)}, a job fails after losing its worker ${l.maxStalledCount + 1} times`;
}

/** Segment times measured on this machine (per model, provider and thread count), in the cache folder. */
export class SegmentTimes {
  readonly file: string;
  constructor(cacheDir = defaultCacheDir()) {
    this.file = path.join(cacheDir, 'worker-segment-times.json');
  }
  static key(host: string, modelId: string, provider: string, threads: number): string {
    return [host, os.cpus()[0]?.model?.trim() ?? 'cpu', modelId, provider, `${threads} threads`].join(' | ');
  }
  private read(): Record<string, { segmentMs: number; at: string }> {
    try {
      return JSON.parse(fs.readFileSync(this.file, 'utf8')) as Record<string, { segmentMs: number; at: string }>;
    } catch {
      return {};
    }
  }
  get(key: string): number | null {
    const v = this.read()[key]?.segmentMs;
    return typeof v === 'number' && v > 0 ? v : null;
  }
  set(key: string, segmentMs: number): void {
    const all = this.read();
    all[key] = { segmentMs: Math.round(segmentMs), at: new Date().toISOString() };
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.partial`;
      fs.writeFileSync(tmp, JSON.stringify(all, null, 1));
      fs.renameSync(tmp, this.file);
    } catch {
      // an unwritable cache only means measuring again next time
    }
  }
}

export async function startRedisWorker(o: RedisWorkerOptions): Promise<RunningWorker> {
  const parsed = parseQueueUrl(o.url);
  await checkRedis(parsed);
  const host = o.host ?? (process.env.DEMIX_WORKER_HOST || os.hostname());
  const conn: Redis = redisConnection(parsed, { onDown: (m) => o.log(m), onUp: (m) => o.log(m) });
  const sub: Redis = redisConnection(parsed);
  await conn.ping();
  // Jobs at once share the cores: each engine gets its share of ONNX Runtime threads.
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const threadsPerJob = Math.max(1, Math.floor(cores / Math.max(1, o.concurrency)));
  const threads = Array.from({ length: Math.max(1, o.concurrency) }, () => new EngineThread(o.workerScript, o.modelsDir));
  const running = new Map<string, EngineThread>();
  const segmentTimes = new SegmentTimes(o.cacheDir);
  const canceled = new Set<string>();
  let processed = 0;

  await sub.subscribe(CANCEL_CHANNEL);
  sub.on('message', (_ch: string, remoteId: string) => {
    canceled.add(remoteId);
    running.get(remoteId)?.cancel(remoteId);
  });

  const failJob = (code: string, message: string): never => {
    throw new UnrecoverableError(encodeError(code, message));
  };

  const processor = async (job: BullJob<RemoteJobData, RemoteResult>): Promise<RemoteResult> => {
    const remoteId = job.id!;
    const d = job.data;
    if (canceled.has(remoteId) || (await conn.exists(cancelKey(remoteId)))) failJob('CANCELED', 'Canceled.');
    const input = toWorkerPath(d.inputPath, o.pathMap);
    const outDir = toWorkerPath(d.outputDir, o.pathMap);
    try {
      await fs.promises.access(input, fs.constants.R_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      failJob(
        'INPUT_NOT_FOUND',
        `${input} cannot be read on ${host} (${code === 'ENOENT' ? 'no such file' : code}): put the file on storage every worker reaches, or map its folder with --path-map FROM=TO.`,
      );
    }
    try {
      makeDirs(outDir);
      fs.accessSync(outDir, fs.constants.W_OK);
    } catch (e) {
      const err = outputError(e, outDir);
      failJob(err.code, `${err.message.replace(/\.$/, '')} (on ${host}).`);
    }
    // An earlier attempt of this job (a worker killed mid-run) may have left partial files here.
    removePartials(outDir);

    const thread = threads.find((t) => !t.busy);
    if (!thread) failJob('INTERNAL', `No free engine thread on ${host} (concurrency accounting error).`);
    thread!.busy = true;
    running.set(remoteId, thread!);
    let ok = false;
    try {
      let provider: string;
      try {
        provider = await thread!.init(d.options.modelId, o.device ?? d.options.device, threadsPerJob);
      } catch (e) {
        const err = e as EngineError;
        return failJob(err.code ?? 'INTERNAL', `${err.message ?? String(e)} (on ${host})`);
      }
      const report = (p: Omit<RemoteProgress, 'host' | 'provider'>) => {
        // Never awaited: a run goes on while Redis is away (the update waits for the connection).
        job.updateProgress({ ...p, host, provider } as unknown as object).catch(() => {});
      };
      report({ fraction: 0, segmentsDone: 0, segmentsTotal: 0, etaSec: null });
      let last = 0;
      if (canceled.has(remoteId)) failJob('CANCELED', 'Canceled.');
      const result = await thread!
        .run(
          remoteId,
          input,
          outDir,
          // runTag: this run's temp files are its own (`<stem>.<ext>.<tag>.partial`), so a job that a
          // stalled check handed to another worker while this run still goes on never shares them.
          { format: d.options.format, bits: d.options.bits, clipMode: d.options.clipMode, twoStems: d.options.twoStems, shifts: d.options.shifts, excerpt: d.excerpt ?? null, runTag: randomBytes(4).toString('hex') },
          (p) => {
            const now = Date.now();
            if (now - last < 500 && p.fraction < 1) return;
            last = now;
            report({ fraction: p.fraction, segmentsDone: p.segmentsDone, segmentsTotal: p.segmentsTotal, etaSec: p.etaSec });
          },
        )
        .catch((e: EngineError) => failJob(e.code ?? 'INTERNAL', e.code === 'CANCELED' ? 'Canceled.' : `${e.message} (on ${host})`));
      processed++;
      // The segment time of real jobs refreshes this machine's figure (the lock of the next start).
      const t = result.timings;
      if (t && t.runs > 0 && t.runMs > 0) segmentTimes.set(SegmentTimes.key(host, d.options.modelId, result.provider, threadsPerJob), t.runMs / t.runs);
      ok = true;
      return {
        stems: result.stems.map((s) => ({ name: s.name, path: toSubmitterPath(s.path, o.pathMap), format: s.format, durationSec: s.durationSec })),
        durationSec: result.durationSec,
        provider: result.provider,
        host,
        fallbackReason: result.fallbackReason ?? thread!.fallbackReason,
        analysis: result.analysis
          ? { bpm: result.analysis.bpm, key: result.analysis.key, keyConfidence: result.analysis.keyConfidence, beats: result.analysis.beats, downbeat: result.analysis.downbeat }
          : null,
      };
    } finally {
      // A failed or canceled job leaves no empty folder behind (never a folder with files).
      if (!ok) removeEmptyDir(outDir);
      running.delete(remoteId);
      canceled.delete(remoteId);
      thread!.busy = false;
    }
  };

  const lock = await chooseLock(o, threads[0], threadsPerJob, host, segmentTimes);
  const { lockDuration, stalledInterval, maxStalledCount } = lock;
  const worker = new Worker<RemoteJobData, RemoteResult>(QUEUE_NAME, processor, {
    connection: conn,
    prefix: KEY_PREFIX,
    concurrency: Math.max(1, o.concurrency),
    lockDuration,
    stalledInterval,
    maxStalledCount,
    name: host,
    autorun: false,
  });
  worker.on('error', () => {}); // connection problems are reported once by the connection
  worker.on('failed', (job, err) => {
    if (job && !/^CANCELED:/.test(err.message)) o.log(`✗ ${job.data.name}: ${err.message.replace(/^[A-Z_]+: /, '')}`);
  });
  worker.on('completed', (job) => o.log(`✓ ${job.data.name}`));
  const closed = worker.run().catch((e) => o.log(`worker stopped: ${(e as Error).message}`));
  await worker.waitUntilReady();

  let closing: Promise<void> | null = null;
  const close = (force = false) => {
    closing ??= (async () => {
      // Graceful: takes no new job and finishes the ones in flight. Forced: jobs in flight are left
      // to their locks; they expire and another worker runs them again from the start.
      if (force) await Promise.race([worker.close(true), new Promise((r) => setTimeout(r, 5000).unref())]);
      else await worker.close();
      await Promise.all(threads.map((t) => t.dispose(force)));
      sub.disconnect();
      conn.disconnect();
    })();
    return closing;
  };
  return { closed: closed.then(() => undefined), close, processed: () => processed, running: () => running.size, lock };
}

/**
 * The job lock for this worker: explicit settings win; otherwise the segment time of the default
 * model on this machine's device and thread share, cached per machine (measured once: the model is
 * loaded now, on the thread that runs the jobs, then one warm-up and one timed segment).
 */
async function chooseLock(o: RedisWorkerOptions, thread: EngineThread, threadsPerJob: number, host: string, times: SegmentTimes): Promise<LockSettings> {
  if (o.lockDurationMs !== undefined || process.env.DEMIX_REDIS_LOCK_MS) return lockSettings(null, o, 'given');
  const modelId = o.calibrationModel ?? 'htdemucs';
  let provider: string;
  try {
    provider = await thread.init(modelId, o.device ?? 'auto', threadsPerJob);
  } catch (e) {
    o.log(`could not load ${modelId} to time a segment (${(e as EngineError).message ?? String(e)}); the job lock uses its floor.`);
    return lockSettings(null, o, 'floor');
  }
  const key = SegmentTimes.key(host, modelId, provider, threadsPerJob);
  const cached = times.get(key);
  if (cached !== null) return lockSettings(cached, o, 'cached');
  o.log(`timing one segment of ${modelId} on ${provider} for the job lock (once per machine)…`);
  const r = await thread.bench();
  if (r.segmentMs === null) {
    o.log(`could not time a segment of ${modelId} on ${provider} (${r.error}); the job lock uses its floor.`);
    return lockSettings(null, o, 'floor');
  }
  times.set(key, r.segmentMs);
  return lockSettings(r.segmentMs, o, 'measured');
}

/** Same path on both sides when no map applies (documentation helper for `demix worker --help`). */
export function describePathMap(m: PathMap): string {
  return m.length ? m.map(([a, b]) => `${a} → ${b}`).join(', ') : 'none (same paths on every machine)';
}

