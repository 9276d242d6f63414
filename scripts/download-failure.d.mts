/** Types for scripts/download-failure.mjs. */
export declare function describeFailure(r: {
  stdout?: string;
  stderr?: string;
  error?: { code?: string; message?: string } | null;
  status?: number | null;
  signal?: string | null;
  timeoutMs: number;
}): string;
