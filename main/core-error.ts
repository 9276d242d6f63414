import type { ErrorCode } from '../preload/contract.ts';

/** An error a core service raises on purpose; the IPC/bridge layers map `code` onto the wire envelope. */
export class CoreError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CoreError';
  }
}

export function isCoreError(e: unknown): e is CoreError {
  return e instanceof Error && e.name === 'CoreError' && typeof (e as CoreError).code === 'string';
}
