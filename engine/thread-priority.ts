/**
 * Background threads yield the CPU to the one that must stay responsive (the core's event loop:
 * Electron's main process, `demix serve`). On Linux the nice value belongs to each thread, so a
 * worker thread can lower its own priority without touching the process: the threads and child
 * processes it starts afterwards (ONNX Runtime's thread pool, ffmpeg) inherit it. Elsewhere
 * (macOS, Windows) the same call would change the whole process, so it is not made there.
 * On an idle machine a lower priority costs nothing; it only decides who waits under contention.
 */
import os from 'node:os';

/** Raises this thread's nice value to at least `nice` (Linux; 0-19). Returns the value now in effect, or null where not applied. */
export function lowerThreadPriority(nice: number, platform: NodeJS.Platform = process.platform): number | null {
  if (platform !== 'linux' || !(nice > 0)) return null;
  try {
    const now = os.getPriority(0);
    const want = Math.min(19, Math.round(nice));
    if (now < want) os.setPriority(0, want);
    return os.getPriority(0);
  } catch {
    return null; // not permitted (e.g. a sandbox): keep running at the current priority
  }
}
