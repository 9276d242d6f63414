/**
 * `demix worker --queue redis://…`: takes jobs from BullMQ, runs the engine, reports progress.
 *
 *  - The engine runs on worker threads (engine-thread.ts): the main thread stays free to renew
 *    BullMQ's job locks however long `session.run` blocks.
 *  - A killed worker's lock expires after `lockDuration`; another worker's stalled check (every
 *    `stalledInterval`) puts the job back, up to `maxStalledCount` times, so it finishes elsewhere.
 *  - Outputs are idempotent: partial files of an earlier attempt are removed before a run, the
 *    engine writes `*.partial` and renames, so a job that reappears ends with exactly one stem set.
 *  - Inputs and outputs live on shared storage, mapped per worker with --path-map FROM=TO; a path
 *    this worker cannot read or write fails that job with one line naming the path and the host.
 *  - Losing Redis: the current run goes on, the connection retries with backoff, one line reports it.
 */
import fs from 'node:fs';
import os from 'node:os';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeviceChoice } from '../../preload/contract.ts';
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
  /** Job lock lifetime (renewed every half of it while the job runs). Default 60 s. */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired (their worker died). Default 30 s. */
  stalledIntervalMs?: number;
  /** How many times a job may lose its worker before it fails (default 3). */
  maxStalledCount?: number;
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
}

export function lockSettings(o: Pick<RedisWorkerOptions, 'lockDurationMs' | 'stalledIntervalMs' | 'maxStalledCount'>) {
  const env = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);
  const lockDuration = o.lockDurationMs ?? env('DEMIX_REDIS_LOCK_MS') ?? 60_000;
  return {
    lockDuration,
    stalledInterval: o.stalledIntervalMs ?? env('DEMIX_REDIS_STALLED_MS') ?? Math.max(1000, Math.round(lockDuration / 2)),
    maxStalledCount: o.maxStalledCount ?? 3,
  };
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
        .run(remoteId, input, outDir, { format: d.options.format, bits: d.options.bits, clipMode: d.options.clipMode, twoStems: d.options.twoStems, shifts: d.options.shifts, excerpt: d.excerpt ?? null }, (p) => {
          const now = Date.now();
          if (now - last < 500 && p.fraction < 1) return;
          last = now;
          report({ fraction: p.fraction, segmentsDone: p.segmentsDone, segmentsTotal: p.segmentsTotal, etaSec: p.etaSec });
        })
        .catch((e: EngineError) => failJob(e.code ?? 'INTERNAL', e.code === 'CANCELED' ? 'Canceled.' : `${e.message} (on ${host})`));
      processed++;
      ok = true;
      return {
        stems: result.stems.map((s) => ({ name: s.name, path: toSubmitterPath(s.path, o.pathMap), format: s.format, durationSec: s.durationSec })),
        durationSec: result.durationSec,
        provider: result.provider,
        host,
      };
    } finally {
      // A failed or canceled job leaves no empty folder behind (never a folder with files).
      if (!ok) removeEmptyDir(outDir);
      running.delete(remoteId);
      canceled.delete(remoteId);
      thread!.busy = false;
    }
  };

  const { lockDuration, stalledInterval, maxStalledCount } = lockSettings(o);
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
  return { closed: closed.then(() => undefined), close, processed: () => processed, running: () => running.size };
}

/** Same path on both sides when no map applies (documentation helper for `demix worker --help`). */
export function describePathMap(m: PathMap): string {
  return m.length ? m.map(([a, b]) => `${a} → ${b}`).join(', ') : 'none (same paths on every machine)';
}

