/**
 * The app's engine worker process: Electron's utilityProcess (the packaged app's binary has the
 * RunAsNode fuse off, so Node's child_process.fork cannot start it as plain Node). Same entry
 * (engine/process-host.mjs, shipped as dist/engine-host.mjs) and same interface as
 * main/queue/process-worker.ts's ProcessWorker, which the CLI and `demix serve` use.
 *
 * On Linux each engine process gets a second, small utility process beside it: the ffmpeg
 * spawner (engine/spawner.mjs, shipped as dist/engine-spawner.mjs), so the engine, which holds
 * the model, never forks (a fork made the model's next run 11.5 s instead of 2.2 s: the first
 * segment of every job). Under Node the engine host forks its spawner itself; a utility process
 * cannot, so it is started here and the engine is told where it listens.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { utilityProcess, type UtilityProcess } from 'electron';
import { emitHostMessage, niceProcess, setPriority, type EngineWorkerHandle, type SpawnEngine } from '../queue/process-worker.ts';

export class UtilityEngineWorker extends EventEmitter implements EngineWorkerHandle {
  readonly child: UtilityProcess;
  /** The engine's ffmpeg spawner (Linux), if one was started. */
  spawner: UtilityProcess | null = null;
  private exitCode: number | null = null;
  private readonly exited: Promise<number>;

  constructor(host: string, script: string, nice = 0) {
    super();
    const env: NodeJS.ProcessEnv = { ...process.env, DEMIX_ENGINE_NICE: String(nice) };
    const spawnerScript = spawnerBeside(host);
    if (spawnerScript) {
      // An abstract socket only the holder of the secret may use (engine/spawner.mjs).
      const address = `@demix-spawner-${process.pid}-${randomBytes(8).toString('hex')}`;
      const secret = randomBytes(24).toString('hex');
      const spawner = utilityProcess.fork(spawnerScript, [], {
        serviceName: 'Demix tools',
        stdio: 'inherit',
        // Not in argv: anyone may read a process's argv, only this user its environment.
        env: { ...process.env, DEMIX_SPAWNER_ADDRESS: address, DEMIX_SPAWNER_SECRET: secret },
      });
      // The tools (ffmpeg) inherit the priority of the spawner's main thread, which starts them.
      spawner.once('spawn', () => setPriority(spawner.pid, nice));
      spawner.once('exit', () => (this.spawner = null));
      spawner.on('error', () => {}); // the engine then spawns ffmpeg itself
      this.spawner = spawner;
      env.DEMIX_SPAWNER_ADDRESS = address;
      env.DEMIX_SPAWNER_SECRET = secret;
    }
    this.child = utilityProcess.fork(host, [script], { serviceName: 'Demix engine', stdio: 'inherit', env });
    this.child.once('spawn', () => niceProcess(this.child.pid, nice));
    this.child.on('message', (m: unknown) => emitHostMessage(this, m));
    this.child.on('error', (type: string, location: string) => this.emit('error', new Error(`${type} at ${location}`)));
    this.exited = new Promise<number>((resolve) => {
      this.child.once('exit', (code: number) => {
        this.exitCode = code;
        // It ends by itself when the engine's connection closes; this covers an engine that died first.
        killNow(this.spawner);
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
    if (this.exitCode === null) killNow(this.child);
    return this.exited;
  }

  // A utility process never keeps the app alive: nothing to (un)reference.
  ref(): void {}
  unref(): void {}
}

/** SIGKILL (kill() would send SIGTERM, which the engine host and the spawner leave to the app). */
function killNow(p: UtilityProcess | null): void {
  if (!p) return;
  try {
    if (p.pid) process.kill(p.pid, 'SIGKILL');
    else p.kill();
  } catch {
    p.kill();
  }
}

/** engine/spawner.mjs beside engine/process-host.mjs, or dist/engine-spawner.mjs beside dist/engine-host.mjs; null where there is none to start (not Linux, DEMIX_SPAWNER=0). */
export function spawnerBeside(host: string): string | null {
  if (process.platform !== 'linux' || process.env.DEMIX_SPAWNER === '0') return null;
  const dir = path.dirname(host);
  return [path.join(dir, 'spawner.mjs'), path.join(dir, 'engine-spawner.mjs')].find((p) => existsSync(p)) ?? null;
}

/** The pool's engine spawner for the app: utility processes from `host` (dist/engine-host.mjs). */
export function utilityEngineSpawner(host: string): SpawnEngine {
  return (script, o) => new UtilityEngineWorker(host, script, o.nice ?? 0);
}
