/**
 * Cooperative yielding for long loops on the core's event loop (which also serves IPC, the web
 * bridge and the window): `await yieldToLoop()` lets timers, I/O and pending requests run.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Largest number of job rows inserted in one SQLite transaction (a few ms each). */
export const INSERT_CHUNK = 50;

/** Loop iterations between yields in per-file loops (stat + a few indexed queries each). */
export const YIELD_EVERY = 25;
