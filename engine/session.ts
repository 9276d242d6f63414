/**
 * ONNX Runtime sessions: execution provider chosen per platform at run time, with fallback to
 * CPU, and the provider actually used always reported (never silently dropped).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { DemixError } from './errors.ts';
import type { DeviceChoice } from './types.ts';

export type ProviderName = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';

const PROVIDER_NAMES: readonly ProviderName[] = ['cpu', 'cuda', 'dml', 'coreml', 'webgpu'];

function cudaProviderLibraryPresent(): boolean {
  try {
    const req = createRequire(import.meta.url);
    const dir = path.dirname(req.resolve('onnxruntime-node/package.json'));
    const plat = process.platform === 'win32' ? 'win32' : 'linux';
    const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    for (const napi of ['napi-v6', 'napi-v3']) if (existsSync(path.join(dir, 'bin', napi, plat, process.arch, lib))) return true;
  } catch {
    // fallthrough
  }
  return false;
}

/** Providers this build of onnxruntime-node can offer on this machine (cpu always). */
export function availableProviders(): ProviderName[] {
  const out: ProviderName[] = [];
  const backends = new Set(ort.listSupportedBackends().map((b) => b.name));
  if ((process.platform === 'linux' || process.platform === 'win32') && process.arch === 'x64' && backends.has('cuda') && cudaProviderLibraryPresent()) out.push('cuda');
  if (process.platform === 'win32' && backends.has('dml')) out.push('dml');
  if (process.platform === 'darwin' && backends.has('coreml')) out.push('coreml');
  if (backends.has('webgpu')) out.push('webgpu');
  out.push('cpu');
  return out;
}

/** Order in which `auto` tries providers on this platform. WebGPU is experimental: only on request. */
export function providerOrder(device: DeviceChoice): ProviderName[] {
  const avail = availableProviders();
  if (device === 'auto') return avail.filter((p) => p !== 'webgpu');
  return device === 'cpu' ? ['cpu'] : [device, 'cpu'];
}

export interface SessionInfo {
  session: ort.InferenceSession;
  provider: ProviderName;
  /** Why a requested or preferred provider was not used (shown to the user), or null. */
  fallbackReason: string | null;
  loadMs: number;
}

export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

export function sessionOptions(provider: ProviderName, threads: number): ort.InferenceSession.SessionOptions {
  return {
    // Our provider names are ONNX Runtime's own.
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    // Measured here on the HTDemucs graph: the memory-pattern planner makes the first two runs
    // touch ~2.2 GB of fresh memory each (several seconds) and raises the peak from 3.6 to 5 GB,
    // with no steady-state gain. The arena stays on (without it each run is ~50% slower).
    enableMemPattern: false,
    enableCpuMemArena: true,
  };
}

/**
 * Where the CPU session's optimised graph is cached (ONNX Runtime's optimizedModelFilePath): per
 * source weights (checksum), ONNX Runtime version and machine (the saved graph holds CPU-specific
 * layout transforms), so a stale or foreign file is never loaded. Loading it with graph
 * optimisation off skips the optimisation pass at every later start (measured: model load about
 * half; outputs bit-identical, scripts/bench-engine-start.ts). DEMIX_GRAPH_CACHE=0 turns it off.
 */
export function optimizedGraphPath(cacheDir: string, weightsSha256: string): string | null {
  if (process.env.DEMIX_GRAPH_CACHE === '0') return null;
  const machine = createHash('sha256')
    .update(`${process.platform}|${process.arch}|${os.cpus()[0]?.model ?? '?'}|${ort.env.versions?.node ?? '?'}`)
    .digest('hex')
    .slice(0, 12);
  return path.join(cacheDir, 'optimized-graphs', `${weightsSha256.slice(0, 16)}-ort${ort.env.versions?.node ?? 'x'}-${machine}.onnx`);
}

/** The providers to try for a device choice, and why an asked-for one is skipped up front. */
function providersToTry(device: DeviceChoice): { order: ProviderName[]; failures: string[] } {
  const order = providerOrder(device);
  const failures: string[] = [];
  if (device !== 'auto' && device !== 'cpu' && !availableProviders().includes(device)) {
    failures.push(`${device}: not available in this build/machine`);
    order.splice(0, 1);
  }
  return { order, failures };
}

/** Creates a session on the first provider of the device's order that works. */
export async function createSession(weightsPath: string, device: DeviceChoice, opts: { threads?: number } = {}): Promise<SessionInfo> {
  const threads = opts.threads ?? defaultThreads();
  const { order, failures } = providersToTry(device);
  for (const provider of order) {
    const t0 = performance.now();
    try {
      const session = await ort.InferenceSession.create(weightsPath, sessionOptions(provider, threads));
      const fallbackReason = failures.length ? `using ${provider} because ${failures.join('; ')}` : null;
      return { session, provider, fallbackReason, loadMs: performance.now() - t0 };
    } catch (e) {
      failures.push(`${provider}: ${(e as Error).message.split('\n')[0].slice(0, 160)}`);
    }
  }
  throw new DemixError('DEVICE_UNAVAILABLE', `Could not start the model on any execution provider (${failures.join('; ')}): try --device cpu, or reinstall onnxruntime-node.`);
}

export { ort };

/** Output of one model run (plus the input buffers, handed back for reuse). */
export interface RunResult {
  specOut: Float32Array;
  timeOut: Float32Array;
  runMs: number;
}

export interface IoNames {
  mix: string;
  spec: string;
  specOut: string;
  timeOut: string;
}

/**
 * Runs the model. `ThreadRunner` runs it in a dedicated thread so that the caller's DSP overlaps
 * the model (session.run blocks the thread that calls it). The input buffers must not be touched
 * until the run resolves.
 */
export interface ModelRunner {
  readonly provider: ProviderName;
  readonly fallbackReason: string | null;
  readonly loadMs: number;
  run(mix: Float32Array, mixDims: number[], spec: Float32Array, specDims: number[]): Promise<RunResult & { mix: Float32Array; spec: Float32Array }>;
  dispose(): Promise<void>;
}

type ThreadReply =
  | { type: 'ready'; provider: ProviderName; failures: string[]; loadMs: number }
  | { type: 'init-failed'; failures: string[] }
  | { type: 'result'; id: number; mix: ArrayBuffer; spec: ArrayBuffer; specOut: Float32Array; timeOut: Float32Array; runMs: number }
  | { type: 'error'; id: number; message: string; mix: ArrayBuffer; spec: ArrayBuffer }
  | { type: 'released' };

export class ThreadRunner implements ModelRunner {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: RunResult & { mix: Float32Array; spec: Float32Array }) => void; reject: (e: Error) => void }>();
  private constructor(
    private readonly worker: import('node:worker_threads').Worker,
    private readonly names: IoNames,
    readonly provider: ProviderName,
    readonly fallbackReason: string | null,
    readonly loadMs: number,
  ) {
    worker.on('message', (m: ThreadReply) => {
      if (m.type !== 'result' && m.type !== 'error') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (!p) return; // a run abandoned by a canceled job
      if (m.type === 'error') p.reject(new DemixError('INTERNAL', `The model failed on a segment: ${m.message}`));
      else p.resolve({ specOut: m.specOut, timeOut: m.timeOut, runMs: m.runMs, mix: new Float32Array(m.mix), spec: new Float32Array(m.spec) });
    });
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(new DemixError('INTERNAL', `The model thread stopped: ${e.message}`));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    worker.unref();
  }

  /** `graphCache`: the CPU session's optimised-graph cache file (optimizedGraphPath), or none. */
  static async create(weightsPath: string, device: DeviceChoice, names: IoNames, opts: { threads?: number; graphCache?: string | null } = {}): Promise<ThreadRunner> {
    const { Worker } = await import('node:worker_threads');
    const { fileURLToPath } = await import('node:url');
    const threads = opts.threads ?? defaultThreads();
    const { order, failures } = providersToTry(device);
    const here = path.dirname(fileURLToPath(import.meta.url));
    const script = [path.join(here, 'ort-thread.mjs'), path.join(here, '..', 'ort-thread.mjs')].find((p) => existsSync(p)) ?? path.join(here, 'ort-thread.mjs');
    const worker = new Worker(script);
    const options = sessionOptions('cpu', threads);
    const reply = await new Promise<ThreadReply>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ type: 'init', weightsPath, providers: order, options: { ...options, executionProviders: undefined }, graphCache: opts.graphCache ?? null });
    });
    if (reply.type !== 'ready') {
      await worker.terminate();
      const all = [...failures, ...(reply.type === 'init-failed' ? reply.failures : [])];
      throw new DemixError('DEVICE_UNAVAILABLE', `Could not start the model on any execution provider (${all.join('; ')}): try --device cpu, or reinstall onnxruntime-node.`);
    }
    const provider = PROVIDER_NAMES.find((k) => k === reply.provider) ?? 'cpu';
    const all = [...failures, ...reply.failures];
    return new ThreadRunner(worker, names, provider, all.length ? `using ${provider} because ${all.join('; ')}` : null, reply.loadMs);
  }

  run(mix: Float32Array, mixDims: number[], spec: Float32Array, specDims: number[]) {
    const id = this.nextId++;
    return new Promise<RunResult & { mix: Float32Array; spec: Float32Array }>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ type: 'run', id, names: this.names, mix: mix.buffer, mixDims, spec: spec.buffer, specDims }, [mix.buffer as ArrayBuffer, spec.buffer as ArrayBuffer]);
    });
  }

  async dispose(): Promise<void> {
    this.worker.ref();
    // Wait for runs in flight to end (terminating the thread inside ORT's native code aborts the
    // whole process), then for the release; the thread then ends by itself.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 10 * 60_000);
      const onMessage = (m: ThreadReply) => {
        if (m.type !== 'released') return;
        clearTimeout(t);
        this.worker.off('message', onMessage);
        resolve();
      };
      this.worker.on('message', onMessage);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      this.worker.postMessage({ type: 'release' });
    });
  }
}
