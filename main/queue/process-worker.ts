/**
 * An engine worker in a process of its own, behind the part of `worker_threads.Worker`'s
 * interface the pool uses (postMessage, 'message' / 'error' / 'exit', terminate, ref/unref).
 * The worker script is the same one a thread would run: engine/process-host.mjs puts a port over
 * the IPC channel in place of `parentPort`.
 *
 * Why: the model session holds 3.6-5 GB. Every ffmpeg the engine or the media worker spawns is a
 * fork() of the process it runs in, and forking a process that big copies its page tables while
 * holding its memory-map lock: every thread of it, the core's event loop included, stood still
 * for 150-1,800 ms whenever a separation or a peaks/mixdown request started an ffmpeg (measured
 * by scripts/bench-eventloop.ts, the stalled thread's kernel stack in lock_mm_and_find_vma while
 * the forking thread was in dup_mmap). With the model in another process the core stays small.
 * It also keeps a native crash of ONNX Runtime from taking the core (the app) down with it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The part of worker_threads.Worker the pool uses; events: 'message' (a FromWorker), 'error' (an
 * Error), 'exit' (the exit code).
 */
export interface EngineWorkerHandle extends EventEmitter {
  postMessage(message: unknown): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

/** Starts one engine worker for a worker script (default: a ProcessWorker; the app: a utility process). */
export type SpawnEngine = (script: string, o: { nice?: number }) => EngineWorkerHandle;

/** engine/process-host.mjs from the sources, or dist/engine-host.mjs beside a bundle. */
export function processHostPath(here = path.dirname(fileURLToPath(import.meta.url))): string {
  const candidates = [
    path.join(here, '..', '..', 'engine', 'process-host.mjs'), // main/queue/ (sources)
    path.join(here, 'engine-host.mjs'), // dist/ (dist/cli.js)
    path.join(here, '..', 'engine-host.mjs'), // dist/electron/
  ];
  return candidates.find((p) => existsSync(p)) ?? candidates[0];
}

export interface ProcessWorkerOptions {
  /** Nice value of the whole process (all platforms: it is a process of its own). */
  nice?: number;
  /** The process entry (default: processHostPath()). */
  host?: string;
}

/**
 * Passes on a message from engine/process-host.mjs: its report of a fatal error in the worker
 * script becomes an 'error' (as a thread's uncaught exception would), anything else a 'message'.
 */
export function emitHostMessage(target: EventEmitter, m: unknown): void {
  if (m && typeof m === 'object' && '__demixHostError' in m) target.emit('error', new Error(String((m as { __demixHostError: unknown }).__demixHostError)));
  else target.emit('message', m);
}

/**
 * Lowers an engine process's priority where it is one value for all its threads (macOS,
 * Windows); on Linux engine/process-host.mjs sets every thread's own.
 */
export function niceProcess(pid: number | undefined, nice: number): void {
  if (process.platform !== 'linux') setPriority(pid, nice);
}

/** os.setPriority of `pid` (on Linux: of its main thread, and what that thread starts later); quiet where not permitted. */
export function setPriority(pid: number | undefined, nice: number): void {
  if (!(nice > 0) || !pid) return;
  try {
    os.setPriority(pid, Math.min(19, Math.round(nice)));
  } catch {
    // not permitted: it runs at normal priority
  }
}

export class ProcessWorker extends EventEmitter implements EngineWorkerHandle {
  readonly child: ChildProcess;
  private exitCode: number | null = null;
  private readonly exited: Promise<number>;

  constructor(script: string, o: ProcessWorkerOptions = {}) {
    super();
    const nice = o.nice && o.nice > 0 ? Math.min(19, Math.round(o.nice)) : 0;
    this.child = fork(o.host ?? processHostPath(), [script], {
      serialization: 'advanced',
      // The host and the scripts are plain ESM (sources register tsx themselves, see
      // engine/worker-entry.mjs); the parent's loader flags (tsx, vitest) are not inherited.
      execArgv: [],
      env: { ...process.env, DEMIX_ENGINE_NICE: String(nice) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    niceProcess(this.child.pid, nice);
    this.child.on('message', (m: unknown) => emitHostMessage(this, m));
    this.child.on('error', (e) => this.emit('error', e));
    this.exited = new Promise<number>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1);
        this.emit('exit', this.exitCode);
        resolve(this.exitCode);
      });
    });
  }

  postMessage(message: unknown): void {
    if (this.exitCode !== null || !this.child.connected) return;
    this.child.send(message as object, (e) => {
      // The process died between the check and the send: its 'exit' reports it.
      void e;
    });
  }

  /** Ends the process at once (the model run in flight, if any, dies with it). */
  terminate(): Promise<number> {
    if (this.exitCode === null) this.child.kill('SIGKILL');
    return this.exited;
  }

  ref(): void {
    this.child.ref();
    (this.child.channel as { ref?: () => void } | undefined)?.ref?.();
  }

  unref(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }
}
