/**
 * ONNX Runtime sessions: execution provider chosen per platform at run time, with fallback to
 * CPU, and the provider actually used always reported (never silently dropped).
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { DemixError } from './errors.ts';
import type { DeviceChoice } from './types.ts';

export type ProviderName = 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';

/** The ORT execution-provider name for each of ours. */
const ORT_NAME: Record<ProviderName, string> = { cpu: 'cpu', cuda: 'cuda', dml: 'dml', coreml: 'coreml', webgpu: 'webgpu' };

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

function sessionOptions(provider: ProviderName, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ORT_NAME[provider]],
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

/** Creates a session on the first provider of the device's order that works. */
export async function createSession(weightsPath: string, device: DeviceChoice, opts: { threads?: number } = {}): Promise<SessionInfo> {
  const threads = opts.threads ?? defaultThreads();
  const order = providerOrder(device);
  const failures: string[] = [];
  if (device !== 'auto' && device !== 'cpu' && !availableProviders().includes(device)) {
    failures.push(`${device}: not available in this build/machine`);
    order.splice(0, 1);
  }
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
