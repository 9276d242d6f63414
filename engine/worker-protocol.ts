/**
 * Messages between a queue (main) and an engine worker thread (engine/worker.ts).
 *
 * One worker owns one Separator (one ONNX Runtime session) and runs one job at a time.
 * Life cycle: main posts `init`; the worker answers `ready` (with the provider really used)
 * or `init-error`. Then any number of `run`s, each answered by `progress`* then `done` or `failed`.
 * `cancel` aborts the running job within one segment (it then answers `failed` with code CANCELED,
 * having removed its partial files). `bench` times one model segment (a warm-up, then one timed
 * run of the self-check clip; never while a job runs) and answers `bench-done`. `shutdown`
 * disposes the session and exits.
 */
import type { DeviceChoice, Progress, SeparateOptions, SeparateResult } from './types.ts';
import type { ErrorInfo } from './errors.ts';

export interface InitMessage {
  type: 'init';
  modelId: string;
  device: DeviceChoice;
  /** Extra folder to look for model manifests/weights in (user models folder). */
  modelsDir?: string;
  /** ONNX Runtime intra-op threads: the pool gives each worker its share of the cores (default: all cores). */
  threads?: number;
  /**
   * Lower this worker's CPU priority (Linux nice value, inherited by ONNX Runtime's threads and the
   * decoder) before loading the model, so the core's event loop stays responsive (app, serve).
   */
  nice?: number;
}
export interface RunMessage {
  type: 'run';
  jobId: string;
  input: string;
  /** Exact folder the stems go into (the caller decides `<out>/<model>/<track>`). */
  outDir: string;
  options: SeparateOptions;
}
export interface CancelMessage {
  type: 'cancel';
  jobId: string;
}
export interface ShutdownMessage {
  type: 'shutdown';
}
/** Times one segment of the loaded model (`demix worker` sets its BullMQ job lock from it). */
export interface BenchMessage {
  type: 'bench';
}
export type ToWorker = InitMessage | RunMessage | CancelMessage | BenchMessage | ShutdownMessage;

export interface ReadyMessage {
  type: 'ready';
  modelId: string;
  provider: string;
  /** Why a requested or preferred provider was not used (shown to the user), or null. */
  fallbackReason: string | null;
}
export interface InitErrorMessage {
  type: 'init-error';
  error: ErrorInfo;
}
export interface ProgressMessage {
  type: 'progress';
  jobId: string;
  progress: Progress;
}
export interface DoneMessage {
  type: 'done';
  jobId: string;
  result: SeparateResult;
}
export interface FailedMessage {
  type: 'failed';
  jobId: string;
  error: ErrorInfo;
}
export interface BenchDoneMessage {
  type: 'bench-done';
  /** Steady-state time of one model segment, ms; null when it could not run (`error` says why). */
  segmentMs: number | null;
  error: string | null;
}
export type FromWorker = ReadyMessage | InitErrorMessage | ProgressMessage | DoneMessage | FailedMessage | BenchDoneMessage;
