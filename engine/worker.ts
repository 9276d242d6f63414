/**
 * Engine worker thread: owns one Separator (one ONNX Runtime session, loaded once and reused)
 * and runs one job at a time, speaking engine/worker-protocol.ts with its parent.
 */
import { parentPort } from 'node:worker_threads';
import { toErrorInfo } from './errors.ts';
import { Separator } from './separator.ts';
import { lowerThreadPriority } from './thread-priority.ts';
import { spawnerReady } from './tool-spawn.ts';
import type { FromWorker, ToWorker } from './worker-protocol.ts';

if (!parentPort) throw new Error('engine/worker.ts must run in a worker thread');
const port = parentPort;
const post = (m: FromWorker) => port.postMessage(m);
// Reach the ffmpeg spawner (engine/spawner.mjs) now, while the model loads, so the first job's
// probe does not wait for it; without one, tools are spawned from here.
void spawnerReady();

let separator: Separator | null = null;
let current: { jobId: string; abort: AbortController } | null = null;
const queue: Extract<ToWorker, { type: 'run' }>[] = [];

async function runNext(): Promise<void> {
  if (current || !separator) return;
  const job = queue.shift();
  if (!job) return;
  const abort = new AbortController();
  current = { jobId: job.jobId, abort };
  let lastPost = 0;
  let lastReady = 0;
  try {
    const result = await separator.separate(job.input, job.outDir, job.options, {
      signal: abort.signal,
      onProgress: (progress) => {
        const now = Date.now();
        // At most ~4 a second, but never hold back the first playable audio (ready > 0) or the end.
        const firstReady = lastReady === 0 && progress.readyFrames > 0;
        if (now - lastPost > 250 || progress.fraction >= 1 || progress.segmentsDone <= 1 || firstReady) {
          lastPost = now;
          lastReady = progress.readyFrames;
          post({ type: 'progress', jobId: job.jobId, progress });
        }
      },
    });
    post({ type: 'done', jobId: job.jobId, result });
  } catch (e) {
    post({ type: 'failed', jobId: job.jobId, error: toErrorInfo(e, { outputDir: job.outDir }) });
  } finally {
    current = null;
    void runNext();
  }
}

port.on('message', async (msg: ToWorker) => {
  switch (msg.type) {
    case 'init':
      try {
        if (msg.nice) lowerThreadPriority(msg.nice);
        separator = await Separator.create({ modelId: msg.modelId, device: msg.device, modelsDir: msg.modelsDir, threads: msg.threads });
        post({ type: 'ready', modelId: msg.modelId, provider: separator.provider, fallbackReason: separator.fallbackReason });
        void runNext();
      } catch (e) {
        post({ type: 'init-error', error: toErrorInfo(e) });
      }
      break;
    case 'run':
      queue.push(msg);
      void runNext();
      break;
    case 'bench':
      // Only between jobs (the Redis worker benches before it takes any).
      if (!separator || current) {
        post({ type: 'bench-done', segmentMs: null, error: separator ? 'a job is running' : 'no model loaded' });
        break;
      }
      try {
        post({ type: 'bench-done', segmentMs: await separator.timeSegment(), error: null });
      } catch (e) {
        post({ type: 'bench-done', segmentMs: null, error: (e as Error).message.split('\n')[0].slice(0, 200) });
      }
      break;
    case 'cancel': {
      const i = queue.findIndex((j) => j.jobId === msg.jobId);
      if (i >= 0) {
        queue.splice(i, 1);
        post({ type: 'failed', jobId: msg.jobId, error: { code: 'CANCELED', message: 'Canceled; no files were written.' } });
      } else if (current?.jobId === msg.jobId) current.abort.abort();
      break;
    }
    case 'shutdown':
      current?.abort.abort();
      await separator?.dispose().catch(() => {});
      process.exit(0);
  }
});
