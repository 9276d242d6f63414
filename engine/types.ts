/**
 * Public types of the engine. Callers (main's queue, the CLI, the worker) depend on these only.
 */

export type OutputFormat = 'wav' | 'flac' | 'mp3';
/** 16/24-bit integer PCM, or 32 = 32-bit float (wav) / 24-bit (flac, which has no float). */
export type BitDepth = 16 | 24 | 32;
export type ClipMode = 'rescale' | 'clamp';
export type DeviceChoice = 'auto' | 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';

export interface SeparateOptions {
  /** Tag in this run's temp file names (`<stem>.<ext>.<tag>.partial`), so two runs of one job never share temp files. */
  runTag?: string;
  format: OutputFormat;
  bits: BitDepth;
  clipMode: ClipMode;
  /** Keep this stem and write its complement as `no_<stem>`. */
  twoStems: string | null;
  /** Number of random shifts to average (0 = none). */
  shifts: number;
  /** Random seed for shifts (tests use a fixed one). */
  seed?: number;
  /**
   * Skip a last segment whose samples the previous one already covers (default true). The
   * reference always runs it; measured SDR is unchanged (see engine/separator.test.ts).
   */
  skipCoveredTail?: boolean;
  /**
   * Separate only this span of the input (seconds): the model also sees up to half a segment of
   * context on each side, which is trimmed off exactly, so every stem is exactly
   * round(endSec·rate) − round(startSec·rate) frames long.
   */
  excerpt?: { startSec: number; endSec: number } | null;
}

export const DEFAULT_SEPARATE_OPTIONS: SeparateOptions = {
  format: 'wav',
  bits: 16,
  clipMode: 'rescale',
  twoStems: null,
  shifts: 0,
  skipCoveredTail: true,
};

export interface Progress {
  /** 0..1 over the whole job (all shift passes). */
  fraction: number;
  segmentsDone: number;
  segmentsTotal: number;
  /** Seconds left, estimated from the steady-state segment time; null until known. */
  etaSec: number | null;
  stage: 'loading' | 'separating' | 'finishing';
  /**
   * Frames per stem written to the stems' `*.partial` data and final: no later segment changes
   * them (progressive playback serves exactly this prefix while the job runs).
   */
  readyFrames: number;
}

export interface StemFile {
  name: string;
  path: string;
  format: OutputFormat;
  durationSec: number;
}

export interface SeparateResult {
  stems: StemFile[];
  /** Decoded input duration in seconds. */
  durationSec: number;
  /** Execution provider that actually ran the model. */
  provider: string;
  /** Why the preferred provider was not used, or failed mid-job and the CPU finished (null: none). */
  fallbackReason?: string | null;
  timings: {
    totalMs: number;
    /** Sum of session.run wall time. */
    runMs: number;
    /** Number of session.run calls. */
    runs: number;
  };
}

export interface RunControl {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}
