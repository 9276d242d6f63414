/**
 * Errors the engine raises for things a user can fix. Each has a stable code and a one-line
 * message saying what happened and what to do; the CLI and the UI show `message` as is.
 */
export type DemixErrorCode =
  | 'INPUT_NOT_FOUND'
  | 'INPUT_EMPTY'
  | 'INPUT_IS_FOLDER'
  | 'NOT_AUDIO'
  | 'NO_AUDIO_STREAM'
  | 'DECODE_FAILED'
  | 'OUTPUT_UNWRITABLE'
  | 'DISK_FULL'
  | 'CANCELED'
  | 'MODEL_NOT_FOUND'
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'FFMPEG_MISSING'
  | 'DEVICE_UNAVAILABLE'
  | 'BAD_OPTIONS'
  | 'INTERNAL';

export class DemixError extends Error {
  constructor(
    readonly code: DemixErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DemixError';
  }
}

export function isDemixError(e: unknown): e is DemixError {
  return e instanceof Error && (e as DemixError).name === 'DemixError' && typeof (e as DemixError).code === 'string';
}

/** Serialisable form (for worker messages and the job store). */
export interface ErrorInfo {
  code: DemixErrorCode;
  message: string;
}

/** Maps any error (including Node's ENOSPC/EACCES) to a user-facing code and message. */
export function toErrorInfo(e: unknown, context?: { outputDir?: string }): ErrorInfo {
  if (isDemixError(e)) return { code: e.code, message: e.message };
  const err = e as NodeJS.ErrnoException;
  const where = context?.outputDir ? ` (${context.outputDir})` : err?.path ? ` (${err.path})` : '';
  switch (err?.code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return { code: 'DISK_FULL', message: `The disk is full${where}: free some space or choose another output folder, then retry.` };
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return { code: 'OUTPUT_UNWRITABLE', message: `Cannot write to the output folder${where}: choose a folder you can write to, then retry.` };
    case 'ABORT_ERR':
      return { code: 'CANCELED', message: 'Canceled.' };
  }
  if (err?.name === 'AbortError') return { code: 'CANCELED', message: 'Canceled.' };
  return { code: 'INTERNAL', message: `Unexpected error: ${err?.message ?? String(e)}` };
}
