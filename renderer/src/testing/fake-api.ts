/**
 * TEST DOUBLE of `DemixApi`: an in-memory imitation of main's job service, used by the store
 * unit tests and (through ../mock/mock-api.ts) by the `?mock=1` dev mode. It never separates
 * anything; `advance()` moves jobs along by hand (or on a timer in the dev mock).
 */
import {
  CONTRACT_VERSION,
  DEFAULT_MAX_UPLOAD_BYTES,
  DemixRemoteError,
  JobOptions,
  channels,
  type Batch,
  type Channel,
  type DemixApi,
  type Diagnostics,
  type EventName,
  type EventPayload,
  type Job,
  type QueueState,
  type RequestOf,
  type ResponseOf,
  type Settings,
} from '../../../preload/contract.ts';

const AUDIO = /\.(wav|flac|mp3|ogg|oga|opus|m4a|aac|aif|aiff|wma|webm|mp4)$/i;

export interface FakeApi extends DemixApi {
  /** Every invoke, in order. */
  calls: { channel: Channel; request: unknown }[];
  jobs: Map<string, Job>;
  batches: Map<string, Batch>;
  settings: Settings;
  paused: boolean;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
  /** Replace one channel's behaviour (e.g. make it fail). */
  override<C extends Channel>(channel: C, fn: (req: RequestOf<C>) => ResponseOf<C> | Promise<ResponseOf<C>>): void;
  /** Files the fake file system contains, for folder adds: folder → file names. */
  folders: Map<string, string[]>;
  /** Update a job and emit `job-updated` (and the batch counters). */
  patchJob(id: string, patch: Partial<Job>): Job;
  queueState(): QueueState;
  listenerCount(event: EventName): number;
}

export interface FakeOptions {
  host?: 'electron' | 'web';
  contractVersion?: number;
  stems?: string[];
  now?: () => number;
}

export function createFakeApi(opts: FakeOptions = {}): FakeApi {
  const now = opts.now ?? (() => Date.now());
  const stems = opts.stems ?? ['drums', 'bass', 'other', 'vocals'];
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const overrides = new Map<Channel, (req: never) => unknown>();
  let seq = 0;
  let created = 1_700_000_000_000;

  const fake: FakeApi = {
    host: opts.host ?? 'web',
    contractVersion: CONTRACT_VERSION,
    calls: [],
    jobs: new Map(),
    batches: new Map(),
    folders: new Map(),
    paused: false,
    settings: {
      outputDir: '/home/musician/Music/Demix',
      ...JobOptions.parse({}),
      concurrency: 1,
      queueUrl: null,
      maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
    },

    async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
      fake.calls.push({ channel, request });
      const parsed = channels[channel].request.safeParse(request ?? {});
      if (!parsed.success) throw new DemixRemoteError('BAD_REQUEST', `${channel}: ${parsed.error.message}`);
      const o = overrides.get(channel);
      if (o) return (await o(request as never)) as ResponseOf<C>;
      return handle(channel, parsed.data) as ResponseOf<C>;
    },

    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (p: unknown) => void);
      return () => set.delete(listener as (p: unknown) => void);
    },

    mediaUrl: (jobId, stem) => `fake://media/${jobId}/${stem}`,
    pathForFile: () => null,
    startDrag: () => {},

    emit(event, payload) {
      for (const l of listeners.get(event) ?? []) l(payload);
    },

    override(channel, fn) {
      overrides.set(channel, fn as (req: never) => unknown);
    },

    patchJob(id, patch) {
      const job = fake.jobs.get(id);
      if (!job) throw new Error(`no job ${id}`);
      const next = { ...job, ...patch };
      fake.jobs.set(id, next);
      fake.emit('job-updated', next);
      if (next.batchId && patch.status) refreshBatch(next.batchId);
      if (patch.status) fake.emit('queue-state', fake.queueState());
      return next;
    },

    queueState() {
      const all = [...fake.jobs.values()];
      const queued = all.filter((j) => j.status === 'queued').length;
      const running = all.filter((j) => j.status === 'running').length;
      const active = all.filter((j) => j.status === 'queued' || j.status === 'running');
      const overall = active.length ? active.reduce((a, j) => a + j.progress, 0) / active.length : null;
      return { paused: fake.paused, queued, running, workers: fake.settings.concurrency, overallProgress: overall };
    },

    listenerCount(event) {
      return listeners.get(event)?.size ?? 0;
    },
  };

  function refreshBatch(batchId: string) {
    const b = fake.batches.get(batchId);
    if (!b) return;
    const members = [...fake.jobs.values()].filter((j) => j.batchId === batchId);
    const next = { ...b, done: members.filter((j) => j.status === 'done').length, failed: members.filter((j) => j.status === 'failed').length, canceled: members.filter((j) => j.status === 'canceled').length };
    fake.batches.set(batchId, next);
    fake.emit('batch-updated', next);
  }

  function newJob(path: string, batch: Batch | null): Job {
    const id = `job${++seq}`;
    const name = path.split('/').pop()!; // main names a job after its file, extension included
    const job = queuedJob({
      id,
      name,
      inputPath: path,
      batchId: batch?.id ?? null,
      relativePath: batch ? path.slice(batch.sourceFolder.length + 1) : null,
      options: {
        modelId: fake.settings.modelId,
        format: fake.settings.format,
        bits: fake.settings.bits,
        clipMode: fake.settings.clipMode,
        twoStems: fake.settings.twoStems,
        shifts: fake.settings.shifts,
        device: fake.settings.device,
      },
      outputDir: `${fake.settings.outputDir}/${fake.settings.modelId}/${name.replace(/\.[^.]+$/, '')}`,
      createdAt: created++,
    });
    fake.jobs.set(id, job);
    return job;
  }

  function notFound(id: string): never {
    throw new DemixRemoteError('NOT_FOUND', `No job with id ${id}.`);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- requests were parsed by the contract above
  function handle(channel: Channel, req: any): unknown {
    switch (channel) {
      case 'app:hello':
        return { contractVersion: opts.contractVersion ?? CONTRACT_VERSION, appVersion: '0.1.0-fake', host: fake.host };
      case 'jobs:add-files': {
        const jobs: Job[] = [];
        const batches: Batch[] = [];
        const rejected: { path: string; reason: string }[] = [];
        for (const p of req.paths as string[]) {
          const files = fake.folders.get(p);
          if (files) {
            const batch: Batch = { id: `batch${++seq}`, sourceFolder: p, outputDir: fake.settings.outputDir, total: 0, done: 0, failed: 0, canceled: 0, skipped: 0, createdAt: created++ };
            for (const f of files) {
              if (AUDIO.test(f)) jobs.push(newJob(`${p}/${f}`, batch));
              else rejected.push({ path: `${p}/${f}`, reason: 'not an audio file' });
            }
            batch.total = jobs.filter((j) => j.batchId === batch.id).length;
            batch.skipped = files.length - batch.total;
            fake.batches.set(batch.id, batch);
            batches.push(batch);
          } else if (AUDIO.test(p)) jobs.push(newJob(p, null));
          else rejected.push({ path: p, reason: 'not an audio file (Demix reads wav, flac, mp3, ogg, m4a, aiff…)' });
        }
        return { jobs, batches, rejected };
      }
      case 'jobs:add-folder':
        throw new DemixRemoteError('UNSUPPORTED', 'use jobs:add-files');
      case 'jobs:list': {
        let jobs = [...fake.jobs.values()];
        if (req.status) jobs = jobs.filter((j) => (req.status as string[]).includes(j.status));
        return { jobs: jobs.slice(req.offset, req.offset + req.limit), batches: [...fake.batches.values()], total: jobs.length };
      }
      case 'jobs:get':
        return { job: fake.jobs.get(req.id) ?? notFound(req.id) };
      case 'jobs:cancel': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        if (j.status !== 'queued' && j.status !== 'running') throw new DemixRemoteError('CONFLICT', `Cannot cancel a ${j.status} job.`);
        return { job: fake.patchJob(j.id, { status: 'canceled', finishedAt: now(), etaSec: null, error: { code: 'CANCELED', message: 'Canceled.' } }) };
      }
      case 'jobs:retry': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        if (j.status !== 'failed' && j.status !== 'canceled') throw new DemixRemoteError('CONFLICT', `Cannot retry a ${j.status} job.`);
        return { job: fake.patchJob(j.id, { status: 'queued', progress: 0, segmentsDone: 0, error: null, startedAt: null, finishedAt: null, etaSec: null }) };
      }
      case 'jobs:remove': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        if (j.status === 'running') throw new DemixRemoteError('CONFLICT', 'Cancel the job before removing it.');
        fake.jobs.delete(j.id);
        fake.emit('job-removed', { id: j.id });
        return { ok: true };
      }
      case 'jobs:reorder': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        if (j.status !== 'queued') throw new DemixRemoteError('CONFLICT', 'Only queued jobs can be reordered.');
        const order = [...fake.jobs.values()]
          .filter((x) => x.status === 'queued' && x.id !== j.id)
          .sort((a, b) => b.priority - a.priority || a.createdAt - b.createdAt);
        const at = req.beforeId ? order.findIndex((x) => x.id === req.beforeId) : -1;
        order.splice(at < 0 ? order.length : at, 0, j);
        const changed: Job[] = [];
        order.forEach((x, i) => {
          const priority = order.length - i;
          if (x.priority !== priority) changed.push(fake.patchJob(x.id, { priority }));
        });
        return { jobs: changed };
      }
      case 'jobs:peaks': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        const dur = j.durationSec ?? 12;
        const n = req.buckets as number;
        const seed = [...String(req.stem)].reduce((a, c) => a + c.charCodeAt(0), 0);
        const peaks = Array.from({ length: n }, (_, i) => {
          const t = (i / n) * dur;
          const beat = Math.exp(-((t * 2) % 1) * (seed % 5 + 2));
          const v = 0.25 + 0.6 * beat * (0.6 + 0.4 * Math.sin(t * 0.7 + seed));
          return Math.max(0, Math.min(1, v * (0.85 + 0.15 * Math.sin(i * 12.9898 + seed))));
        });
        return { durationSec: dur, peaks };
      }
      case 'jobs:stream-info': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        const stems = j.stems.length ? j.stems.map((s) => s.name) : ['drums', 'bass', 'other', 'vocals'];
        return { stems, sampleRate: 44100, durationSec: j.durationSec ?? 12, readySamples: j.status === 'done' ? null : (j.readySamples ?? 0) };
      }
      case 'queue:pause':
        fake.paused = true;
        fake.emit('queue-state', fake.queueState());
        return fake.queueState();
      case 'queue:resume':
        fake.paused = false;
        fake.emit('queue-state', fake.queueState());
        return fake.queueState();
      case 'queue:state':
        return fake.queueState();
      case 'settings:get':
        return fake.settings;
      case 'settings:set':
        fake.settings = { ...fake.settings, ...req };
        return fake.settings;
      case 'mixdown:export': {
        const j = fake.jobs.get(req.id) ?? notFound(req.id);
        if (j.status !== 'done') throw new DemixRemoteError('CONFLICT', 'The job has not finished yet.');
        const tempo = (req.tempo as number | undefined) ?? 100;
        const pitch = (req.pitch as number | undefined) ?? 0;
        const suffix = tempo !== 100 || pitch !== 0 ? ` ${tempo}% ${pitch}st` : '';
        const name = `mixdown-${(req.stems as string[]).join('+')}${suffix}.${req.format}`;
        return { path: `${j.outputDir}/${name}`, durationSec: (j.durationSec ?? 12) / (tempo / 100), name };
      }
      case 'shell:reveal':
        if (fake.host === 'web') throw new DemixRemoteError('UNSUPPORTED', 'Revealing files needs the desktop app.');
        return { ok: true };
      case 'dialog:open-files':
        return { paths: [] };
      case 'diagnostics:get': {
        const d: Diagnostics = {
          appVersion: '0.1.0-fake',
          contractVersion: CONTRACT_VERSION,
          host: fake.host,
          platform: 'linux',
          arch: 'x64',
          nodeVersion: 'v20.0.0',
          electronVersion: null,
          ffmpeg: { path: '/usr/bin/ffmpeg', source: 'PATH', version: '6.1.1', error: null },
          models: [{ id: 'htdemucs', name: 'Hybrid Transformer Demucs', stems, sampleRate: 44100, weightsPath: '/models/htdemucs.onnx', checksum: 'ok' }],
          providers: { available: ['cpu'], inUse: [] },
          databasePath: '/data/demix.db',
          dataDir: '/data',
        };
        return d;
      }
    }
  }

  return fake;
}

/** A job as main answers an add with it: queued, nothing run yet. */
export function queuedJob(j: Pick<Job, 'id' | 'name' | 'inputPath' | 'batchId' | 'relativePath' | 'options' | 'outputDir' | 'createdAt'>): Job {
  return {
    id: j.id,
    name: j.name,
    inputPath: j.inputPath,
    batchId: j.batchId,
    relativePath: j.relativePath,
    options: j.options,
    status: 'queued',
    progress: 0,
    segmentsDone: 0,
    segmentsTotal: 0,
    etaSec: null,
    provider: null,
    error: null,
    priority: 0,
    outputDir: j.outputDir,
    durationSec: null,
    stems: [],
    createdAt: j.createdAt,
    startedAt: null,
    finishedAt: null,
  };
}

/** Marks a job finished with the given stems (as main would after a successful run). */
export function finishJob(fake: FakeApi, id: string, stems = ['drums', 'bass', 'other', 'vocals'], durationSec = 12): Job {
  const j = fake.jobs.get(id)!;
  return fake.patchJob(id, {
    status: 'done',
    progress: 1,
    etaSec: 0,
    durationSec,
    finishedAt: Date.now(),
    stems: stems.map((name) => ({ name, path: `${j.outputDir}/${name}.${j.options.format}`, format: j.options.format, durationSec })),
  });
}
