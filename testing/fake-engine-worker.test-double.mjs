// TEST DOUBLE — used only by tests and the queue benchmark, never by the app.
//
// A fake engine worker speaking engine/worker-protocol.ts: it "separates" by writing small
// valid WAV files (a quiet sine per stem) through `<stem>.wav.partial` + rename, in
// `segments` steps of `segmentMs` each. Behaviour is configured with the env var
// DEMIX_FAKE_WORKER (JSON: { segments, segmentMs, stemSeconds, provider, blocking, log, fallbackReason, analysis, reportRunMs }) and per job by words
// in the input file name:
//   "slow"   – 10x the per-segment delay        "fail"   – fails with DECODE_FAILED
//   "crash"  – the worker thread throws          "exit"   – the worker calls process.exit(7)
//   "enospc" – fails with DISK_FULL (as the engine maps ENOSPC)
//   "gpulost" – done, but reports that its provider failed mid-job and the CPU finished
// A model id "broken-model" fails init. `bench` answers one segment's delay, timed.
// `blocking: true` spends each segment in a synchronous wait (like ONNX Runtime's native
// session.run: messages wait until it returns). `log` names a file that gets one line per event
// (init <threads>, run <id>, bench, cancel <id>, canceled <id>, done <id>, shutdown), so tests can tell a
// worker that stopped cleanly from one that was terminated.
import { parentPort } from 'node:worker_threads';
import fs from 'node:fs';
import path from 'node:path';

const cfg = { segments: 4, segmentMs: 2, stemSeconds: 0.05, provider: 'fake-cpu', ...JSON.parse(process.env.DEMIX_FAKE_WORKER || '{}') };
const STEMS = ['drums', 'bass', 'other', 'vocals'];
let current = null; // { jobId, canceled, partials }

function wav(seconds, freq) {
  const frames = Math.max(1, Math.round(seconds * 44100));
  const buf = Buffer.alloc(44 + frames * 4);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + frames * 4, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(44100, 24);
  buf.writeUInt32LE(44100 * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(frames * 4, 40);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(Math.sin((2 * Math.PI * freq * i) / 44100) * 8000);
    buf.writeInt16LE(v, 44 + i * 4);
    buf.writeInt16LE(v, 46 + i * 4);
  }
  return buf;
}

const sleepAsync = (ms) => new Promise((r) => setTimeout(r, ms));
const blocker = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => {
  if (!cfg.blocking) return sleepAsync(ms);
  Atomics.wait(blocker, 0, 0, ms); // a "native run": this thread handles nothing meanwhile
  return sleepAsync(0);
};
const log = (line) => {
  if (cfg.log) fs.appendFileSync(cfg.log, cfg.logTimes ? `${line} ${process.pid} ${Date.now()}\n` : `${line}\n`);
};

async function run(msg) {
  const job = { jobId: msg.jobId, canceled: false, partials: [] };
  current = job;
  const name = path.basename(msg.input).toLowerCase();
  const gpuFail = name.includes('gpulost');
  const started = Date.now();
  try {
    try {
      const st = fs.statSync(msg.input);
      if (st.size === 0) return fail(job, 'INPUT_EMPTY', `The file is empty: ${msg.input}`);
    } catch {
      return fail(job, 'INPUT_NOT_FOUND', `File not found: ${msg.input}`);
    }
    if (name.includes('crash')) throw new Error('fake engine crashed on purpose');
    if (name.includes('exit')) process.exit(7);
    const stems = msg.options.twoStems ? [msg.options.twoStems, `no_${msg.options.twoStems}`] : STEMS;
    fs.mkdirSync(msg.outDir, { recursive: true });
    const delay = cfg.segmentMs * (name.includes('slow') ? 10 : 1);
    for (let s = 0; s < cfg.segments; s++) {
      if (job.canceled) return cancelOut(job);
      if (s === 1) {
        if (name.includes('fail')) return fail(job, 'DECODE_FAILED', `Could not decode ${msg.input}: the file is damaged.`);
        if (name.includes('enospc')) return fail(job, 'DISK_FULL', `The disk is full (${msg.outDir}): free some space or choose another output folder, then retry.`);
        for (const [i, stem] of stems.entries()) {
          const p = path.join(msg.outDir, `${stem}.wav${msg.options.runTag ? `.${msg.options.runTag}` : ''}.partial`);
          fs.writeFileSync(p, wav(cfg.stemSeconds, 220 * (i + 1)));
          job.partials.push(p);
        }
      }
      await sleep(delay);
      const done = s + 1;
      parentPort.postMessage({
        type: 'progress',
        jobId: msg.jobId,
        progress: { fraction: done / cfg.segments, segmentsDone: done, segmentsTotal: cfg.segments, etaSec: ((cfg.segments - done) * delay) / 1000, stage: 'separating' },
      });
    }
    if (job.canceled) return cancelOut(job);
    const out = [];
    for (const p of job.partials) {
      const final = path.join(msg.outDir, `${path.basename(p).split('.wav')[0]}.wav`);
      fs.renameSync(p, final);
      out.push({ name: path.basename(final, '.wav'), path: final, format: 'wav', durationSec: cfg.stemSeconds });
    }
    log(`done ${msg.jobId}`);
    parentPort.postMessage({
      type: 'done',
      jobId: msg.jobId,
      result: {
        stems: out,
        durationSec: cfg.stemSeconds,
        // "gpulost": the provider failed mid-job and the CPU finished it (engine/fallback-runner.ts)
        ...(gpuFail ? { provider: 'cpu', fallbackReason: `${cfg.provider} failed at segment 2 (out of memory); finished on the cpu from that segment` } : { provider: cfg.provider }),
        // `reportRunMs`: the segments' delays reported as session.run time (as the engine times it)
        timings: { totalMs: Date.now() - started, runMs: cfg.reportRunMs ? cfg.segments * delay : 0, runs: cfg.segments },
        // `analysis` in the config: reported as the engine's tempo/beats/key for every job
        ...(cfg.analysis ? { analysis: cfg.analysis } : {}),
      },
    });
  } finally {
    if (current === job) current = null;
  }
}

function removePartials(job) {
  for (const p of job.partials) fs.rmSync(p, { force: true });
}
function fail(job, code, message) {
  if (code !== 'CANCELED') log(`failed ${job.jobId}`);
  removePartials(job);
  parentPort.postMessage({ type: 'failed', jobId: job.jobId, error: { code, message } });
}
function cancelOut(job) {
  log(`canceled ${job.jobId}`);
  fail(job, 'CANCELED', 'Canceled.');
}

parentPort.on('message', (msg) => {
  switch (msg.type) {
    case 'init':
      log(`init ${msg.threads ?? '-'}`);
      if (msg.modelId === 'broken-model') parentPort.postMessage({ type: 'init-error', error: { code: 'MODEL_MISSING', message: 'Model weights missing (fake).' } });
      else parentPort.postMessage({ type: 'ready', modelId: msg.modelId, provider: cfg.provider, fallbackReason: cfg.fallbackReason ?? null });
      break;
    case 'run':
      log(`run ${msg.jobId}`);
      // Unhandled rejections (the "crash" case) kill the worker thread like a real engine bug would.
      run(msg).catch((e) => setImmediate(() => { throw e; }));
      break;
    case 'bench': {
      // One "segment": the configured per-segment delay, timed.
      log('bench');
      const t = Date.now();
      Promise.resolve(sleep(cfg.segmentMs)).then(() => parentPort.postMessage({ type: 'bench-done', segmentMs: Date.now() - t, error: null }));
      break;
    }
    case 'cancel':
      log(`cancel ${msg.jobId}`);
      if (current && current.jobId === msg.jobId) current.canceled = true;
      break;
    case 'shutdown':
      log('shutdown');
      process.exit(0);
  }
});
