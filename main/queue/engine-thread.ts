/**
 * One engine worker (engine/worker-protocol.ts) for the Redis worker process: it holds one model
 * session and runs one job at a time. The engine runs in a process of its own (process-worker.ts
 * says why), never on the main thread, so `session.run` blocking for seconds never delays BullMQ's lock renewal.
 */
import { ProcessWorker, type EngineWorkerHandle } from './process-worker.ts';
import type { FromWorker, ToWorker } from '../../engine/worker-protocol.ts';
import type { SeparateOptions, SeparateResult, Progress } from '../../engine/types.ts';
import type { DeviceChoice } from '../../preload/contract.ts';

export interface EngineError {
  code: string;
  message: string;
}

export class EngineThread {
  private worker: EngineWorkerHandle | null = null;
  private ready: Promise<string> | null = null;
  private key: string | null = null;
  private current: { jobId: string; onMessage: (m: FromWorker) => void; onDeath: (reason: string) => void } | null = null;
  busy = false;
  /** Why the requested provider is not the one in use (from `ready`), or null. */
  fallbackReason: string | null = null;

  constructor(
    private readonly script: string,
    private readonly modelsDir?: string,
  ) {}

  /** Starts (or reuses) the thread with this model and device; resolves with the provider it uses. */
  init(modelId: string, device: DeviceChoice, threads?: number): Promise<string> {
    const key = `${modelId}|${device}`;
    if (this.worker && this.key === key && this.ready) return this.ready;
    if (this.worker) void this.dispose(true);
    const worker = new ProcessWorker(this.script);
    this.worker = worker;
    this.key = key;
    this.ready = new Promise<string>((resolve, reject) => {
      let initDone = false;
      worker.on('message', (m: FromWorker) => {
        if (!initDone) {
          if (m.type === 'ready') {
            initDone = true;
            this.fallbackReason = m.fallbackReason ?? null;
            resolve(m.provider);
          } else if (m.type === 'init-error') {
            initDone = true;
            void this.dispose(true);
            reject(m.error);
          }
          return;
        }
        this.current?.onMessage(m);
      });
      const died = (reason: string) => {
        if (this.worker !== worker) return;
        this.worker = null;
        this.ready = null;
        this.key = null;
        if (!initDone) {
          initDone = true;
          reject({ code: 'INTERNAL', message: `The separation engine failed to start (${reason}).` });
        } else this.current?.onDeath(reason);
      };
      worker.on('error', (e) => died(`worker error: ${e.message}`));
      worker.on('exit', (code) => died(`worker exited with code ${code}`));
    });
    this.ready.catch(() => {});
    this.post({ type: 'init', modelId, device, modelsDir: this.modelsDir, threads });
    return this.ready;
  }

  /** Runs one job; rejects with an EngineError (code CANCELED after `cancel`). */
  run(jobId: string, input: string, outDir: string, options: SeparateOptions, onProgress: (p: Progress) => void): Promise<SeparateResult> {
    return new Promise<SeparateResult>((resolve, reject) => {
      const finish = () => {
        this.current = null;
      };
      this.current = {
        jobId,
        onMessage: (m) => {
          if (!('jobId' in m) || m.jobId !== jobId) return;
          if (m.type === 'progress') onProgress(m.progress);
          else if (m.type === 'done') {
            finish();
            resolve(m.result);
          } else if (m.type === 'failed') {
            finish();
            reject({ code: m.error.code, message: m.error.message } satisfies EngineError);
          }
        },
        onDeath: (reason) => {
          finish();
          reject({
            code: 'INTERNAL',
            message: `The separation engine stopped unexpectedly (${reason}); retry the job, and report it if it happens again.`,
          } satisfies EngineError);
        },
      };
      this.post({ type: 'run', jobId, input, outDir, options });
    });
  }

  /**
   * Times one model segment on this thread (after `init`, between jobs): the steady-state ms, or
   * null with the reason when it could not run.
   */
  bench(): Promise<{ segmentMs: number | null; error: string | null }> {
    if (!this.worker || !this.ready) return Promise.resolve({ segmentMs: null, error: 'no model loaded' });
    if (this.current) return Promise.resolve({ segmentMs: null, error: 'a job is running' });
    return new Promise((resolve) => {
      const done = (r: { segmentMs: number | null; error: string | null }) => {
        this.current = null;
        resolve(r);
      };
      this.current = {
        jobId: '',
        onMessage: (m) => {
          if (m.type === 'bench-done') done({ segmentMs: m.segmentMs, error: m.error });
        },
        onDeath: (reason) => done({ segmentMs: null, error: reason }),
      };
      this.post({ type: 'bench' });
    });
  }

  cancel(jobId: string): void {
    if (this.current?.jobId === jobId) this.post({ type: 'cancel', jobId });
  }

  runningJob(): string | null {
    return this.current?.jobId ?? null;
  }

  private post(msg: ToWorker): void {
    this.worker?.postMessage(msg);
  }

  async dispose(force = false): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    this.key = null;
    if (!w) return;
    if (!force) {
      w.postMessage({ type: 'shutdown' } satisfies ToWorker);
      const exited = await Promise.race([
        new Promise<boolean>((r) => w.once('exit', () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 60_000).unref()),
      ]);
      if (exited) return;
    }
    await w.terminate();
  }
}
