/**
 * The app's engine worker process: Electron's utilityProcess (the packaged app's binary has the
 * RunAsNode fuse off, so Node's child_process.fork cannot start it as plain Node). Same entry
 * (engine/process-host.mjs, shipped as dist/engine-host.mjs) and same interface as
 * main/queue/process-worker.ts's ProcessWorker, which the CLI and `demix serve` use.
 */
import { EventEmitter } from 'node:events';
import { utilityProcess, type UtilityProcess } from 'electron';
import { emitHostMessage, niceProcess, type EngineWorkerHandle, type SpawnEngine } from '../queue/process-worker.ts';

export class UtilityEngineWorker extends EventEmitter implements EngineWorkerHandle {
  readonly child: UtilityProcess;
  private exitCode: number | null = null;
  private readonly exited: Promise<number>;

  constructor(host: string, script: string, nice = 0) {
    super();
    this.child = utilityProcess.fork(host, [script], {
      serviceName: 'Demix engine',
      stdio: 'inherit',
      env: { ...process.env, DEMIX_ENGINE_NICE: String(nice) },
    });
    this.child.once('spawn', () => niceProcess(this.child.pid, nice));
    this.child.on('message', (m: unknown) => emitHostMessage(this, m));
    this.child.on('error', (type: string, location: string) => this.emit('error', new Error(`${type} at ${location}`)));
    this.exited = new Promise<number>((resolve) => {
      this.child.once('exit', (code: number) => {
        this.exitCode = code;
        this.emit('exit', code);
        resolve(code);
      });
    });
  }

  postMessage(message: unknown): void {
    if (this.exitCode === null) this.child.postMessage(message);
  }

  /** Ends the process at once: SIGKILL (kill() would send SIGTERM, which the engine host leaves to the app). */
  terminate(): Promise<number> {
    if (this.exitCode === null) {
      try {
        if (this.child.pid) process.kill(this.child.pid, 'SIGKILL');
        else this.child.kill();
      } catch {
        this.child.kill();
      }
    }
    return this.exited;
  }

  // A utility process never keeps the app alive: nothing to (un)reference.
  ref(): void {}
  unref(): void {}
}

/** The pool's engine spawner for the app: utility processes from `host` (dist/engine-host.mjs). */
export function utilityEngineSpawner(host: string): SpawnEngine {
  return (script, o) => new UtilityEngineWorker(host, script, o.nice ?? 0);
}
