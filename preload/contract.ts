/**
 * The one typed contract between the renderer and main (Electron IPC or the local web bridge).
 *
 * Every invoke-style channel has a request and a response schema; every pushed event has a
 * payload schema. Main parses every request with these schemas; the renderer's types are
 * inferred from them. This file imports only zod, so every layer may import it.
 *
 * Adding a feature = one entry here + one service function + UI.
 */
import { z } from 'zod';

/** Bumped on any breaking change; main and renderer compare it on connect (`app:hello`). */
export const CONTRACT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Shared value schemas
// ---------------------------------------------------------------------------------------------

export const OutputFormat = z.enum(['wav', 'flac', 'mp3']);
export type OutputFormat = z.infer<typeof OutputFormat>;

/** Bit depth for wav/flac: 16, 24 or 32 (32 = float for wav, 24-bit for flac). Ignored for mp3. */
export const BitDepth = z.union([z.literal(16), z.literal(24), z.literal(32)]);
export type BitDepth = z.infer<typeof BitDepth>;

export const ClipMode = z.enum(['rescale', 'clamp']);
export type ClipMode = z.infer<typeof ClipMode>;

/** Execution provider the user asks for; `auto` picks the best available and falls back to cpu. */
export const DeviceChoice = z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu']);
export type DeviceChoice = z.infer<typeof DeviceChoice>;

export const JobStatus = z.enum(['queued', 'running', 'done', 'failed', 'canceled']);
export type JobStatus = z.infer<typeof JobStatus>;

const Id = z.string().min(1).max(64);
const AbsPath = z.string().min(1).max(4096);

/** The separation options of one job (a snapshot of settings at enqueue time). */
export const JobOptions = z.object({
  modelId: z.string().min(1).max(64).default('htdemucs'),
  format: OutputFormat.default('wav'),
  bits: BitDepth.default(16),
  clipMode: ClipMode.default('rescale'),
  /** Keep this stem plus its complement (`no_<stem>`), as `demucs --two-stems`. */
  twoStems: z.string().min(1).max(32).nullable().default(null),
  /** Random time shifts averaged (0 = off), as `demucs --shifts`. */
  shifts: z.number().int().min(0).max(20).default(0),
  device: DeviceChoice.default('auto'),
});
export type JobOptions = z.infer<typeof JobOptions>;

/**
 * Per-request overrides of the job options. Spelled out without defaults on purpose: zod 4's
 * `.partial()` keeps `.default()`s, so `JobOptions.partial()` would turn `{ format: 'flac' }`
 * into a full set of hard-coded defaults and silently override the user's settings.
 */
export const JobOptionsPatch = z.object({
  modelId: JobOptions.shape.modelId.unwrap().optional(),
  format: JobOptions.shape.format.unwrap().optional(),
  bits: JobOptions.shape.bits.unwrap().optional(),
  clipMode: JobOptions.shape.clipMode.unwrap().optional(),
  twoStems: JobOptions.shape.twoStems.unwrap().optional(),
  shifts: JobOptions.shape.shifts.unwrap().optional(),
  device: JobOptions.shape.device.unwrap().optional(),
});
export type JobOptionsPatch = z.infer<typeof JobOptionsPatch>;

export const JobError = z.object({
  /** Stable machine-readable code, e.g. NOT_AUDIO, OUTPUT_UNWRITABLE, DISK_FULL, CANCELED. */
  code: z.string(),
  /** One line a musician understands, saying what happened and what to do. */
  message: z.string(),
});
export type JobError = z.infer<typeof JobError>;

export const Stem = z.object({
  name: z.string(),
  path: z.string(),
  format: OutputFormat,
  durationSec: z.number().nonnegative(),
});
export type Stem = z.infer<typeof Stem>;

export const Job = z.object({
  id: Id,
  name: z.string(),
  inputPath: z.string(),
  batchId: Id.nullable(),
  /** Path of the input relative to the batch's source folder (for grouping), or null. */
  relativePath: z.string().nullable(),
  options: JobOptions,
  status: JobStatus,
  /** 0..1 */
  progress: z.number().min(0).max(1),
  segmentsDone: z.number().int().nonnegative(),
  segmentsTotal: z.number().int().nonnegative(),
  etaSec: z.number().nonnegative().nullable(),
  /** Execution provider actually used (cpu, cuda, dml, coreml, webgpu), once known. */
  provider: z.string().nullable(),
  /** Why a requested or preferred GPU provider was not used for this job (e.g. "using cpu because cuda: …"), or null. */
  fallbackReason: z.string().nullable().optional(),
  /** Tempo in beats per minute (from the drums stem, or the mix without drums); null until analysed or without a steady pulse. */
  bpm: z.number().positive().nullable().optional(),
  /** Key, e.g. "G major" or "F# minor"; null until analysed or without pitched content. */
  key: z.string().nullable().optional(),
  /** 0..1: how clearly the key stands out from the runner-up. */
  keyConfidence: z.number().min(0).max(1).nullable().optional(),
  /** Beat times in seconds (the grid that loops snap to and the click follows). */
  beats: z.array(z.number().nonnegative()).nullable().optional(),
  /** Time of the first downbeat (one of `beats`), seconds. */
  downbeat: z.number().nonnegative().nullable().optional(),
  error: JobError.nullable(),
  /** Higher runs first; ties by creation order. */
  priority: z.number().int(),
  outputDir: z.string().nullable(),
  durationSec: z.number().nonnegative().nullable(),
  stems: z.array(Stem),
  createdAt: z.number().int(),
  startedAt: z.number().int().nullable(),
  finishedAt: z.number().int().nullable(),
  /** Host of the worker that runs or ran the job (distributed queue: `demix worker` on another machine). */
  workerHost: z.string().nullable().optional(),
  /**
   * Progressive output: frames per stem already final while the job runs (the media service serves
   * exactly this prefix of each stem); null/absent when not running or nothing is final yet.
   */
  readySamples: z.number().int().nonnegative().nullable().optional(),
  /** A quick excerpt: only this span of the input (seconds) was separated. */
  excerpt: z.object({ startSec: z.number().nonnegative(), endSec: z.number().positive() }).nullable().optional(),
});
export type Job = z.infer<typeof Job>;

export const Batch = z.object({
  id: Id,
  sourceFolder: z.string(),
  outputDir: z.string(),
  total: z.number().int().nonnegative(),
  done: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  /** Jobs of the batch that were canceled (they count as finished, like done and failed). */
  canceled: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  createdAt: z.number().int(),
});
export type Batch = z.infer<typeof Batch>;

export const QueueState = z.object({
  paused: z.boolean(),
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  workers: z.number().int().nonnegative(),
  /** Fraction of the whole queue done (for taskbar/dock progress), or null when idle. */
  overallProgress: z.number().min(0).max(1).nullable(),
});
export type QueueState = z.infer<typeof QueueState>;

export const Settings = z.object({
  /** Root output folder; stems go to `<outputDir>/<model>/<track>/`. */
  outputDir: AbsPath,
  modelId: z.string().min(1).max(64),
  format: OutputFormat,
  bits: BitDepth,
  clipMode: ClipMode,
  twoStems: z.string().min(1).max(32).nullable(),
  shifts: z.number().int().min(0).max(20),
  device: DeviceChoice,
  /** Worker threads separating at once (each holds one model session, ~4-5 GB on CPU). */
  concurrency: z.number().int().min(1).max(8),
  /**
   * Job queue: null = embedded (this machine), or a Redis URL (redis://[:password@]host:port[/db],
   * rediss:// for TLS) served by `demix worker` processes on any machine. Applies at the next start.
   */
  queueUrl: z
    .string()
    .max(2048)
    .regex(/^rediss?:\/\/\S+$/, 'use redis://[:password@]host:port[/db] or rediss://…')
    .nullable()
    .default(null),
  /** Largest file the browser may upload to `demix serve`, in bytes (default 2 GiB). */
  maxUploadBytes: z.number().int().min(1024).max(Number.MAX_SAFE_INTEGER),
});
export type Settings = z.infer<typeof Settings>;

export const ModelInfo = z.object({
  id: z.string(),
  name: z.string(),
  stems: z.array(z.string()),
  sampleRate: z.number().int(),
  weightsPath: z.string().nullable(),
  checksum: z.enum(['ok', 'mismatch', 'missing', 'unverified']),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const Diagnostics = z.object({
  appVersion: z.string(),
  contractVersion: z.number().int(),
  host: z.enum(['electron', 'web']),
  platform: z.string(),
  arch: z.string(),
  nodeVersion: z.string(),
  electronVersion: z.string().nullable(),
  ffmpeg: z.object({
    path: z.string().nullable(),
    source: z.string().nullable(),
    version: z.string().nullable(),
    error: z.string().nullable(),
  }),
  models: z.array(ModelInfo),
  providers: z.object({
    available: z.array(z.string()),
    inUse: z.array(z.string()),
    /** Why workers run on another provider than the one asked for / preferred. */
    fallbackReasons: z.array(z.string()).optional(),
  }),
  /** How the CPU is shared: workers at once and ONNX Runtime threads each (never more workers than cores). */
  workers: z
    .object({
      concurrency: z.number().int().positive(),
      workers: z.number().int().positive(),
      cores: z.number().int().positive(),
      threadsPerWorker: z.number().int().positive(),
      note: z.string().nullable(),
    })
    .optional(),
  databasePath: z.string(),
  dataDir: z.string(),
});
export type Diagnostics = z.infer<typeof Diagnostics>;

/** Peaks for drawing a waveform without decoding the audio in the renderer. */
export const Peaks = z.object({
  durationSec: z.number().nonnegative(),
  /** min/max pairs would double the size; wavesurfer draws from absolute peaks per bucket. */
  peaks: z.array(z.number().min(-1).max(1)),
});
export type Peaks = z.infer<typeof Peaks>;

const Ok = z.object({ ok: z.literal(true) });

// ---------------------------------------------------------------------------------------------
// Invoke-style channels: kebab-case verbs on nouns
// ---------------------------------------------------------------------------------------------

export const channels = {
  /** Handshake: the renderer sends its contract version, main answers with its own. */
  'app:hello': {
    request: z.object({ contractVersion: z.number().int() }),
    response: z.object({ contractVersion: z.number().int(), appVersion: z.string(), host: z.enum(['electron', 'web']) }),
  },
  /** Enqueue files (and folders, which are scanned recursively into one batch each). */
  'jobs:add-files': {
    request: z.object({ paths: z.array(AbsPath).min(1).max(10_000), options: JobOptionsPatch.optional() }),
    response: z.object({
      jobs: z.array(Job),
      batches: z.array(Batch),
      /** Paths not enqueued and why (not audio, missing, already separated with these settings…). */
      rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
    }),
  },
  'jobs:add-folder': {
    request: z.object({ path: AbsPath, options: JobOptionsPatch.optional() }),
    response: z.object({
      batch: Batch.nullable(),
      jobs: z.array(Job),
      rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
    }),
  },
  /**
   * Enqueue what the browser uploaded under one upload id (`PUT /api/upload/<uploadId>?path=…` on
   * the web bridge): a file, or a folder (one batch mirroring its tree, as a path-added folder).
   */
  'jobs:add-upload': {
    request: z.object({ uploadId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/), options: JobOptionsPatch.optional() }),
    response: z.object({
      jobs: z.array(Job),
      batches: z.array(Batch),
      rejected: z.array(z.object({ path: z.string(), reason: z.string() })),
    }),
  },
  'jobs:list': {
    request: z.object({
      status: z.array(JobStatus).optional(),
      limit: z.number().int().min(1).max(10_000).default(500),
      offset: z.number().int().min(0).default(0),
    }),
    response: z.object({ jobs: z.array(Job), batches: z.array(Batch), total: z.number().int() }),
  },
  'jobs:get': {
    request: z.object({ id: Id }),
    response: z.object({ job: Job }),
  },
  'jobs:cancel': { request: z.object({ id: Id }), response: z.object({ job: Job }) },
  'jobs:retry': { request: z.object({ id: Id }), response: z.object({ job: Job }) },
  /** Removes the job record; stems stay on disk unless deleteFiles is true. */
  'jobs:remove': { request: z.object({ id: Id, deleteFiles: z.boolean().default(false) }), response: Ok },
  /** Move a queued job before another (or to the end when beforeId is null). */
  'jobs:reorder': { request: z.object({ id: Id, beforeId: Id.nullable() }), response: z.object({ jobs: z.array(Job) }) },
  'jobs:peaks': {
    request: z.object({ id: Id, stem: z.string().min(1).max(64), buckets: z.number().int().min(16).max(20_000).default(2000) }),
    response: Peaks,
  },
  /**
   * "Preview 30 s": a quick excerpt of a job's song (default: 30 s starting a third into it) as a
   * job of its own that jumps the queue, with its own folder `<track> [start-end]`.
   */
  'jobs:preview': {
    request: z.object({ id: Id, startSec: z.number().nonnegative().optional(), endSec: z.number().positive().optional() }),
    response: z.object({ job: Job }),
  },
  /**
   * What the stem player needs to stream a job, also while it is still separating: the stems it
   * has (or will have), the rate of the raw PCM the media URLs give with `?pcm=f32`, the song's
   * length (null when unknown) and the frames ready so far (null = all of it).
   */
  'jobs:stream-info': {
    request: z.object({ id: Id }),
    response: z.object({
      stems: z.array(z.string()),
      sampleRate: z.number().int().positive(),
      durationSec: z.number().nonnegative().nullable(),
      readySamples: z.number().int().nonnegative().nullable(),
    }),
  },
  'queue:pause': { request: z.object({}), response: QueueState },
  'queue:resume': { request: z.object({}), response: QueueState },
  'queue:state': { request: z.object({}), response: QueueState },
  'settings:get': { request: z.object({}), response: Settings },
  'settings:set': { request: Settings.partial(), response: Settings },
  /**
   * Mix the chosen stems of a finished job into one file in the job folder, optionally at another
   * tempo and pitch (named `mix-<stems> 80% -2st.<ext>`).
   */
  'mixdown:export': {
    request: z.object({
      id: Id,
      stems: z.array(z.string().min(1).max(64)).min(1),
      format: OutputFormat,
      bits: BitDepth.default(16),
      /** Per-stem gain (linear), default 1. */
      gains: z.record(z.string(), z.number().min(0).max(4)).optional(),
      /**
       * Practice export: speed in percent of the original, 50..150 (75 = three quarters as fast,
       * the file 1/0.75 as long), without changing the pitch. Default 100 (unchanged).
       */
      tempo: z.number().min(50).max(150).optional(),
      /** Practice export: transposition in semitones, -12..12 (fractional = cents), without changing the tempo. Default 0. */
      pitch: z.number().min(-12).max(12).optional(),
    }),
    response: z.object({ path: z.string(), durationSec: z.number(), name: z.string() }),
  },
  /** Show a file or a job folder in the system file manager (Electron only; the bridge answers unsupported). */
  'shell:reveal': { request: z.object({ path: AbsPath }), response: Ok },
  /** Native open dialogs (Electron only; the bridge answers with an empty list). */
  'dialog:open-files': { request: z.object({ folders: z.boolean().default(false) }), response: z.object({ paths: z.array(z.string()) }) },
  'diagnostics:get': { request: z.object({}), response: Diagnostics },
} as const;

export type Channel = keyof typeof channels;
export type RequestOf<C extends Channel> = z.input<(typeof channels)[C]['request']>;
export type ParsedRequestOf<C extends Channel> = z.output<(typeof channels)[C]['request']>;
export type ResponseOf<C extends Channel> = z.output<(typeof channels)[C]['response']>;

export const channelNames = Object.keys(channels) as Channel[];
export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name);
}

// ---------------------------------------------------------------------------------------------
// Pushed events (main → renderer)
// ---------------------------------------------------------------------------------------------

export const events = {
  'job-updated': Job,
  'job-removed': z.object({ id: Id }),
  'batch-updated': Batch,
  'queue-state': QueueState,
} as const;

export type EventName = keyof typeof events;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;
export const eventNames = Object.keys(events) as EventName[];

// ---------------------------------------------------------------------------------------------
// The wire envelope: handlers never throw across IPC; they answer with one of these.
// ---------------------------------------------------------------------------------------------

export const ErrorCode = z.enum([
  'BAD_REQUEST', // payload failed the schema
  'UNKNOWN_CHANNEL',
  'FORBIDDEN', // wrong sender / bad token
  'NOT_FOUND',
  'CONFLICT', // e.g. cancel a finished job
  'UNSUPPORTED', // e.g. reveal in folder through the web bridge
  'VERSION_MISMATCH',
  'DISK_FULL', // e.g. a mixdown on a full disk: free space or choose another folder
  'OUTPUT_UNWRITABLE', // the folder cannot be written
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const WireError = z.object({ code: ErrorCode, message: z.string() });
export type WireError = z.infer<typeof WireError>;

export type WireResult<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Thrown by clients when main answers with an error envelope. */
export class DemixRemoteError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'DemixRemoteError';
  }

  /**
   * `instanceof` by shape: in Electron the error is created in the preload's main-world shim
   * (another class, possibly another realm), so class identity alone would fail there.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const v = value as { name?: unknown; code?: unknown; message?: unknown };
    return v.name === 'DemixRemoteError' && typeof v.code === 'string' && typeof v.message === 'string';
  }
}

/** Formats a zod error into one readable line: `paths.0: Expected string, received number`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') + ': ' : ''}${i.message}`)
    .join('; ');
}

/** Parses a request for a channel; returns a wire error instead of throwing. */
export function parseRequest<C extends Channel>(
  channel: unknown,
  payload: unknown,
): { ok: true; channel: C; value: ParsedRequestOf<C> } | { ok: false; error: WireError } {
  if (!isChannel(channel)) {
    return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: `Unknown channel: ${typeof channel === 'string' ? channel.slice(0, 80) : typeof channel}` } };
  }
  const parsed = channels[channel].request.safeParse(payload ?? {});
  if (!parsed.success) {
    return { ok: false, error: { code: 'BAD_REQUEST', message: `${channel}: ${formatIssues(parsed.error)}` } };
  }
  return { ok: true, channel: channel as C, value: parsed.data as ParsedRequestOf<C> };
}

// ---------------------------------------------------------------------------------------------
// The renderer-facing API (window.demix), identical in Electron (preload) and in the browser
// (web bridge client).
// ---------------------------------------------------------------------------------------------

export interface DemixApi {
  readonly host: 'electron' | 'web';
  readonly contractVersion: number;
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>>;
  /** Subscribe to a pushed event; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
  /** URL the <audio>/wavesurfer element can stream a stem (or `mix` for the original) from, with Range support. */
  mediaUrl(jobId: string, stem: string): string;
  /** Absolute path of a dropped File (Electron: webUtils.getPathForFile; web: null). */
  pathForFile(file: File): string | null;
  /** Start a native drag of a stem file out of the window (Electron only; no-op on the web). */
  startDrag(jobId: string, stem: string): void;
  /**
   * Browser only (web bridge): streams a file to `demix serve`'s uploads area. Files sharing an
   * `uploadId` form one upload (a file, or a folder with relative paths); `jobs:add-upload`
   * enqueues it. Absent in Electron, which uses real paths.
   */
  upload?(file: Blob, opts: UploadOptions): Promise<UploadResult>;
}

export interface UploadOptions {
  /** 8-64 characters of [A-Za-z0-9_-], chosen by the client; one per dropped file or folder. */
  uploadId: string;
  /** Name of the file, or its path inside the dropped folder (`Album/cd1/01.flac`). */
  relativePath: string;
  /** Bytes sent so far and the total. */
  onProgress?(loaded: number, total: number): void;
  /** Aborting stops the upload; the bridge keeps nothing of it. */
  signal?: AbortSignal;
}

export interface UploadResult {
  uploadId: string;
  /** The stored relative path (made safe: `/`-separated, no `..`). */
  path: string;
  size: number;
}

/** Largest upload by default: 2 GiB per file. */
export const DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024;

/** Channel name used for pushed events over Electron IPC. */
export const EVENT_CHANNEL = 'demix:event';
/** Channel name used for invoke over Electron IPC (the contract channel goes in the payload). */
export const INVOKE_CHANNEL = 'demix:invoke';
/** Fire-and-forget channel for drag start (Electron only). */
export const DRAG_CHANNEL = 'demix:start-drag';
