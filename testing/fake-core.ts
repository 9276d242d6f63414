/**
 * TEST DOUBLE: an in-memory stand-in for the Core (main/core.ts), used by the shell's tests
 * (handlers, media resolver, web bridge, web client). It separates nothing; it records calls,
 * keeps jobs in a Map and emits contract events on its bus.
 *
 * Its `mediaPath` is deliberately naive (it joins any stem name onto the job's output folder)
 * so the tests prove that main/media.ts confines paths on its own.
 */
import path from 'node:path';
import { EventEmitter } from 'node:events';
import type { Batch, EventName, EventPayload, Job, JobOptions, QueueState, Settings } from '../preload/contract.ts';
import { JobOptions as JobOptionsSchema, Settings as SettingsSchema } from '../preload/contract.ts';
import { CoreError } from '../main/core-error.ts';
import type { ShellCore } from '../main/handlers.ts';
import { defaultSettings } from '../main/settings.ts';

export interface FakeCore extends ShellCore {
  /** Every service call, in order: [method, ...args]. */
  calls: unknown[][];
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  /** Seeds a finished job with the given stems ({ name: absolute path }). */
  seedDoneJob(init: { id?: string; inputPath: string; outputDir: string; stems: Record<string, string> }): Job;
  jobsById: Map<string, Job>;
  listenerCount(): number;
}

let seq = 0;

export function makeJob(partial: Partial<Job> & { inputPath: string }): Job {
  const id = partial.id ?? `job${++seq}`;
  return {
    id,
    name: path.basename(partial.inputPath).replace(/\.[^.]+$/, ''),
    batchId: null,
    relativePath: null,
    options: JobOptionsSchema.parse({}),
    status: 'queued',
    progress: 0,
    segmentsDone: 0,
    segmentsTotal: 0,
    etaSec: null,
    provider: null,
    error: null,
    priority: 0,
    outputDir: null,
    durationSec: null,
    stems: [],
    createdAt: Date.now(),
    startedAt: null,
    finishedAt: null,
    ...partial,
  };
}

export function createFakeCore(opts: { dataDir: string }): FakeCore {
  const emitter = new EventEmitter();
  const jobsById = new Map<string, Job>();
  const batches: Batch[] = [];
  const calls: unknown[][] = [];
  let paused = false;
  let settings: Settings = SettingsSchema.parse({ ...defaultSettings(), outputDir: path.join(opts.dataDir, 'separated') });

  const emit = <E extends EventName>(event: E, payload: EventPayload<E>) => emitter.emit(event, payload);
  const need = (id: string): Job => {
    const job = jobsById.get(id);
    if (!job) throw new CoreError('NOT_FOUND', `No job with id ${id}.`);
    return job;
  };
  const update = (job: Job): Job => {
    jobsById.set(job.id, job);
    emit('job-updated', job);
    return job;
  };
  const queueState = (): QueueState => {
    const all = [...jobsById.values()];
    return {
      paused,
      queued: all.filter((j) => j.status === 'queued').length,
      running: all.filter((j) => j.status === 'running').length,
      workers: 1,
      overallProgress: null,
    };
  };

  return {
    dataDir: opts.dataDir,
    calls,
    jobsById,
    emit,
    listenerCount: () => eventNamesCount(emitter),
    bus: {
      on(event, cb) {
        emitter.on(event, cb as (p: unknown) => void);
        return () => emitter.off(event, cb as (p: unknown) => void);
      },
    },
    seedDoneJob(init) {
      const job = makeJob({
        ...(init.id ? { id: init.id } : {}),
        inputPath: init.inputPath,
        outputDir: init.outputDir,
        status: 'done',
        progress: 1,
        stems: Object.entries(init.stems).map(([name, p]) => ({ name, path: p, format: 'wav' as const, durationSec: 1 })),
      });
      jobsById.set(job.id, job);
      return job;
    },
    jobs: {
      async addPaths(paths: string[], options?: Partial<JobOptions>) {
        calls.push(['addPaths', paths, options]);
        const jobs = paths.map((p) => update(makeJob({ inputPath: p, options: JobOptionsSchema.parse(options ?? {}) })));
        emit('queue-state', queueState());
        return { jobs, batches: [], rejected: [] };
      },
      async addFolder(p: string, options?: Partial<JobOptions>) {
        calls.push(['addFolder', p, options]);
        return { batch: null, jobs: [], rejected: [{ path: p, reason: 'No audio files in this folder.' }] };
      },
      async preview(id: string, startSec?: number, endSec?: number) {
        calls.push(['preview', id, startSec, endSec]);
        const src = need(id);
        const s = startSec ?? 0;
        const e = endSec ?? s + 30;
        const job = makeJob({ inputPath: src.inputPath, options: src.options, priority: src.priority + 1 });
        return update({ ...job, name: `${src.name} [${s}-${e}]`, excerpt: { startSec: s, endSec: e } });
      },
      async addUpload(uploadId: string, options?: Partial<JobOptions>) {
        calls.push(['addUpload', uploadId, options]);
        return { jobs: [], batches: [], rejected: [] };
      },
      list(req) {
        calls.push(['list', req]);
        let all = [...jobsById.values()];
        if (req.status) all = all.filter((j) => req.status!.includes(j.status));
        return { jobs: all.slice(req.offset, req.offset + req.limit), batches, total: all.length };
      },
      get(id) {
        calls.push(['get', id]);
        return need(id);
      },
      cancel(id) {
        calls.push(['cancel', id]);
        const job = need(id);
        if (job.status !== 'queued' && job.status !== 'running') {
          throw new CoreError('CONFLICT', `Cannot cancel a job that is ${job.status}.`);
        }
        return update({ ...job, status: 'canceled' });
      },
      retry(id) {
        calls.push(['retry', id]);
        const job = need(id);
        if (job.status !== 'failed' && job.status !== 'canceled') {
          throw new CoreError('CONFLICT', `Only failed or canceled jobs can be retried (this one is ${job.status}).`);
        }
        return update({ ...job, status: 'queued', error: null });
      },
      async ownsPath(p: string) {
        calls.push(['ownsPath', p]);
        return [...jobsById.values()].some((j) => j.inputPath === p || j.outputDir === p || j.stems.some((s) => s.path === p));
      },
      async remove(id, deleteFiles) {
        calls.push(['remove', id, deleteFiles]);
        need(id);
        jobsById.delete(id);
        emit('job-removed', { id });
      },
      reorder(id, beforeId) {
        calls.push(['reorder', id, beforeId]);
        need(id);
        return [...jobsById.values()];
      },
      async peaks(id, stem, buckets) {
        calls.push(['peaks', id, stem, buckets]);
        need(id);
        return { durationSec: 1, peaks: new Array<number>(buckets).fill(0.5) };
      },
      async exportMixdown(req) {
        calls.push(['exportMixdown', req]);
        const job = need(req.id);
        const name = `mix-${req.stems.join('+')}.${req.format}`;
        return { path: path.join(job.outputDir ?? opts.dataDir, name), durationSec: 1, name };
      },
      mediaPath(jobId, stem) {
        const job = jobsById.get(jobId);
        if (!job) return null;
        if (stem === 'mix') return job.inputPath;
        const known = job.stems.find((s) => s.name === stem);
        if (known) return known.path;
        // Naive on purpose (see the header): the resolver must confine this.
        return job.outputDir ? path.join(job.outputDir, stem) : null;
      },
    },
    queue: {
      pause() {
        calls.push(['pause']);
        paused = true;
        const s = queueState();
        emit('queue-state', s);
        return s;
      },
      resume() {
        calls.push(['resume']);
        paused = false;
        const s = queueState();
        emit('queue-state', s);
        return s;
      },
      state: () => queueState(),
    },
    settings: {
      get: () => settings,
      set(patch) {
        calls.push(['settings.set', patch]);
        settings = SettingsSchema.parse({ ...settings, ...patch });
        return settings;
      },
    },
    async diagnostics(host) {
      calls.push(['diagnostics', host]);
      return {
        appVersion: '0.0.0-test',
        contractVersion: 1,
        host,
        platform: process.platform,
        arch: process.arch,
        nodeVersion: process.version,
        electronVersion: null,
        ffmpeg: { path: null, source: null, version: null, error: 'test double' },
        models: [],
        providers: { available: ['cpu'], inUse: [] },
        databasePath: path.join(opts.dataDir, 'demix.db'),
        dataDir: opts.dataDir,
      };
    },
  };
}

function eventNamesCount(emitter: EventEmitter): number {
  return emitter.eventNames().reduce((n, name) => n + emitter.listenerCount(name), 0);
}
