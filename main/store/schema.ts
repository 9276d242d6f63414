/**
 * The job store's schema (drizzle). Migrations under drizzle/ are generated from this file with
 * `npx drizzle-kit generate` and applied on start (main/store/db.ts); never edit them by hand.
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const batches = sqliteTable('batches', {
  id: text('id').primaryKey(),
  sourceFolder: text('source_folder').notNull(),
  outputDir: text('output_dir').notNull(),
  total: integer('total').notNull().default(0),
  done: integer('done').notNull().default(0),
  failed: integer('failed').notNull().default(0),
  skipped: integer('skipped').notNull().default(0),
  createdAt: integer('created_at').notNull(),
});

export const jobs = sqliteTable(
  'jobs',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    inputPath: text('input_path').notNull(),
    /** sha256 of size + first/last MiB of the input; computed when the job starts. */
    inputHash: text('input_hash'),
    inputSize: integer('input_size'),
    inputMtimeMs: integer('input_mtime_ms'),
    modelId: text('model_id').notNull(),
    /** JSON of the contract's JobOptions. */
    options: text('options').notNull(),
    /** Canonical string of the options that change the output (cache and skip key). */
    optionsKey: text('options_key').notNull(),
    status: text('status', { enum: ['queued', 'running', 'done', 'failed', 'canceled'] }).notNull(),
    progress: real('progress').notNull().default(0),
    segmentsDone: integer('segments_done').notNull().default(0),
    segmentsTotal: integer('segments_total').notNull().default(0),
    etaSec: real('eta_sec'),
    provider: text('provider'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    priority: integer('priority').notNull().default(0),
    attempts: integer('attempts').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    startedAt: integer('started_at'),
    finishedAt: integer('finished_at'),
    /** Output root the job was enqueued with. */
    outputRoot: text('output_root').notNull(),
    /** Exact folder the stems go into: `<root>/<model>/[<relative dir>/]<track>`. */
    outputDir: text('output_dir').notNull(),
    batchId: text('batch_id').references(() => batches.id, { onDelete: 'set null' }),
    relativePath: text('relative_path'),
    durationSec: real('duration_sec'),
    /** Cached waveform peaks of the input ('mix'), added in migration 0001. */
    inputPeaks: blob('input_peaks', { mode: 'buffer' }),
    // ---- 0003 (wave 2) ----
    /** Runner (core owner token) that claimed this running job; null when not running. */
    ownerId: text('owner_id'),
    /** Last heartbeat (ms) of the owner while the job runs. */
    heartbeatAt: integer('heartbeat_at'),
    /** Why a requested GPU provider was not used (null when none was requested or it worked). */
    fallbackReason: text('fallback_reason'),
    /** Samples per stem finalised so far (progressive playback); null before the first segment. */
    readySamples: integer('ready_samples'),
    /** Host name of the worker that runs/ran the job (distributed queue; local host otherwise). */
    workerHost: text('worker_host'),
    /** Id of the job in a remote queue (BullMQ), when it was submitted there. */
    remoteId: text('remote_id'),
    /** Excerpt span in seconds (both set, or both null for the whole song). */
    excerptStart: real('excerpt_start'),
    excerptEnd: real('excerpt_end'),
    /** 1 when the input was uploaded through the bridge (the original is deleted with the job). */
    uploaded: integer('uploaded', { mode: 'boolean' }).notNull().default(false),
    /** Analysis: tempo (BPM), key ("G major"), key confidence (0..1), beat grid (JSON: seconds). */
    bpm: real('bpm'),
    musicalKey: text('musical_key'),
    keyConfidence: real('key_confidence'),
    beats: text('beats'),
  },
  (t) => [
    // Claim order (0002): status, then priority high→low, then oldest first; no sort step per claim.
    index('jobs_queue_order').on(t.status, sql`${t.priority} desc`, t.createdAt, t.id),
    index('jobs_input_hash').on(t.inputHash),
    index('jobs_input_path').on(t.inputPath),
    index('jobs_output_dir').on(t.outputDir),
    // Batch recounts per transition (0002).
    index('jobs_batch_status').on(t.batchId, t.status),
  ],
);

export const stems = sqliteTable(
  'stems',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    jobId: text('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** 'stem' (separated by the engine) or 'mixdown' (exported from stems); added in migration 0001. */
    kind: text('kind', { enum: ['stem', 'mixdown'] }).notNull().default('stem'),
    path: text('path').notNull(),
    format: text('format', { enum: ['wav', 'flac', 'mp3'] }).notNull(),
    durationSec: real('duration_sec').notNull(),
    /** Cached waveform peaks (Float32Array bytes at PEAKS_RESOLUTION buckets). */
    peaks: blob('peaks', { mode: 'buffer' }),
  },
  (t) => [uniqueIndex('stems_job_name').on(t.jobId, t.name)],
);

/** One row per setting: key → JSON value, validated with the contract's Settings schema on read/write. */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/** The single-runner lock: at most one process per database runs workers. */
export const runnerLock = sqliteTable('runner_lock', {
  id: integer('id').primaryKey(),
  /** Random token of the holding core (two cores in one process have the same pid); added in 0001. */
  owner: text('owner').notNull().default(''),
  pid: integer('pid').notNull(),
  hostname: text('hostname').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
  startedAt: integer('started_at').notNull().default(sql`0`),
});
