// ONNX Runtime in its own thread. session.run blocks the thread that calls it (measured with
// onnxruntime-node 1.30: no timer fires during a run), so the separator keeps its DSP (STFT of
// the next segment, iSTFT + overlap-add of the previous one) and I/O on its own thread and runs
// the model here, overlapping the two. Plain JavaScript on purpose: it needs no build step and
// is copied as is into the packaged app.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

let session = null;

// Messages are handled strictly one after another (a release never overlaps a run).
let chain = Promise.resolve();
parentPort.on('message', (msg) => {
  chain = chain.then(() => handle(msg));
});

/**
 * A CPU session through the optimised-graph cache (engine/session.ts optimizedGraphPath): the
 * cached graph is loaded with graph optimisation off (it is already optimised: same kernels, same
 * numbers); without one, the model is optimised as usual and the result saved (temp + rename) for
 * the next start. A cache that cannot be read or written only costs the optimisation.
 */
async function createCached(msg) {
  const options = { ...msg.options, executionProviders: ['cpu'] };
  if (existsSync(msg.graphCache)) {
    try {
      return await ort.InferenceSession.create(msg.graphCache, { ...options, graphOptimizationLevel: 'disabled' });
    } catch {
      rmSync(msg.graphCache, { force: true }); // damaged: rebuilt below
    }
  }
  const tmp = `${msg.graphCache}.${process.pid}.${Date.now()}.partial`;
  try {
    mkdirSync(path.dirname(msg.graphCache), { recursive: true });
    const session = await ort.InferenceSession.create(msg.weightsPath, { ...options, optimizedModelFilePath: tmp });
    try {
      renameSync(tmp, msg.graphCache);
    } catch {
      rmSync(tmp, { force: true });
    }
    return session;
  } catch {
    rmSync(tmp, { force: true });
    return ort.InferenceSession.create(msg.weightsPath, options);
  }
}

async function handle(msg) {
  if (msg.type === 'init') {
    const failures = [];
    for (const provider of msg.providers) {
      const t0 = performance.now();
      try {
        session = provider === 'cpu' && msg.graphCache ? await createCached(msg) : await ort.InferenceSession.create(msg.weightsPath, { ...msg.options, executionProviders: [provider] });
        parentPort.postMessage({ type: 'ready', provider, failures, loadMs: performance.now() - t0 });
        return;
      } catch (e) {
        failures.push(`${provider}: ${String(e?.message ?? e).split('\n')[0].slice(0, 160)}`);
      }
    }
    parentPort.postMessage({ type: 'init-failed', failures });
  } else if (msg.type === 'run') {
    try {
      const feeds = {
        [msg.names.mix]: new ort.Tensor('float32', new Float32Array(msg.mix), msg.mixDims),
        [msg.names.spec]: new ort.Tensor('float32', new Float32Array(msg.spec), msg.specDims),
      };
      const t0 = performance.now();
      const out = await session.run(feeds);
      const runMs = performance.now() - t0;
      const specOut = out[msg.names.specOut].data;
      const timeOut = out[msg.names.timeOut].data;
      const transfer = [msg.mix, msg.spec];
      for (const a of [specOut, timeOut]) if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !transfer.includes(a.buffer)) transfer.push(a.buffer);
      parentPort.postMessage({ type: 'result', id: msg.id, mix: msg.mix, spec: msg.spec, specOut, timeOut, runMs }, transfer);
    } catch (e) {
      parentPort.postMessage({ type: 'error', id: msg.id, message: String(e?.message ?? e), mix: msg.mix, spec: msg.spec }, [msg.mix, msg.spec]);
    }
  } else if (msg.type === 'release') {
    await session?.release();
    session = null;
    parentPort.postMessage({ type: 'released' });
    parentPort.close(); // lets the thread end on its own; terminating it mid-run would abort the process
  }
}
