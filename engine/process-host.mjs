// Entry of an engine worker PROCESS (main/queue/process-worker.ts starts it with
// child_process.fork): runs an engine worker script (engine/worker.ts through worker-entry.mjs,
// dist/engine-worker.js, or a test double) that was written for a worker thread, in a process of
// its own. Why a process: the model session holds 3.6-5 GB, and every ffmpeg the engine or the
// media worker spawns is a fork() of the process it runs in; forking a process that big copies
// its page tables while holding its memory-map lock, which froze the core's event loop for
// 150-1,800 ms at a time (measured with scripts/bench-eventloop.ts). Here the model's memory is in
// another process, so the core stays small and its forks cheap.
//
// The script talks to `parentPort` from node:worker_threads; this host puts a port speaking over
// the IPC channel (advanced serialization: typed arrays and errors survive) in its place before
// loading it. argv[2]: the worker script. DEMIX_ENGINE_NICE: nice value for every thread.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const script = process.argv[2];
// Two ways in: Node's child_process.fork (CLI, `demix serve`: an IPC channel, process.send) or
// Electron's utilityProcess.fork (the app, whose binary refuses to run as plain Node: a
// process.parentPort whose 'message' events carry the value in `data`).
const electronPort = process.parentPort ?? null;
const send = electronPort ? (m) => electronPort.postMessage(m) : typeof process.send === 'function' ? (m) => process.send(m) : null;
if (!script || !send) {
  console.error('engine/process-host.mjs: start it with child_process.fork or utilityProcess.fork(host, [workerScript])');
  process.exit(2);
}

// Lower the priority of every thread this process has now (V8's and libuv's helpers); threads
// started later (ONNX Runtime's pool, ffmpeg) inherit it from the thread that starts them.
const nice = Number(process.env.DEMIX_ENGINE_NICE || 0);
if (nice > 0) {
  let tids = [0];
  try {
    if (process.platform === 'linux') tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    // keep [0]: this thread only
  }
  for (const tid of tids) {
    try {
      if (os.getPriority(tid) < nice) os.setPriority(tid, Math.min(19, nice));
    } catch {
      // not permitted: keep the current priority
    }
  }
}

class ProcessPort extends EventEmitter {
  postMessage(message) {
    // The transfer list of a thread's postMessage has no meaning here: the value is copied.
    send(message);
  }
  close() {
    process.disconnect?.();
  }
  ref() {
    process.channel?.ref();
  }
  unref() {
    process.channel?.unref();
  }
  start() {}
}
const port = new ProcessPort();
// Like a thread's port, messages wait until the script listens for them (it starts listening
// after its imports, while the parent may already have sent 'init').
const waiting = [];
let listening = false;
const arrive = (m) => (listening && !waiting.length ? port.emit('message', m) : waiting.push(m));
if (electronPort) electronPort.on('message', (e) => arrive(e.data));
else process.on('message', arrive);
port.on('newListener', (event) => {
  if (event !== 'message' || listening) return;
  listening = true;
  setImmediate(() => {
    while (waiting.length) port.emit('message', waiting.shift());
  });
});

// A fatal error is reported to the parent the way a worker thread's 'error' event would be.
let dying = false;
const fatal = (e) => {
  if (dying) return;
  dying = true;
  const message = e instanceof Error ? e.message : String(e);
  try {
    const report = { __demixHostError: message, stack: e instanceof Error ? e.stack : undefined };
    if (electronPort) {
      electronPort.postMessage(report);
      setTimeout(() => process.exit(1), 100);
    } else process.send(report, () => process.exit(1));
  } catch {
    process.exit(1);
  }
  setTimeout(() => process.exit(1), 2000).unref();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
// The parent is gone (closed, crashed or SIGKILLed): stop at once. A model run in flight cannot be
// interrupted cleanly, and its partial files are removed by the next start's recovery.
// (Electron ends its utility processes with the app.)
process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
// Ctrl-C in a terminal signals the whole process group, this process too: the parent decides
// (it puts the job back in the queue, then asks this process to stop between segments).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});

// ffmpeg is started by a small spawner process (engine/spawner.mjs says why; engine/tool-spawn.ts
// uses it), on Linux. Under Node (the CLI, `demix serve`) this host forks it now, while this
// process is small; in the Electron app the main process starts it as a utility process beside
// this one (a utility process cannot start a Node child: the app's binary has RunAsNode off) and
// says where it listens in DEMIX_SPAWNER_ADDRESS / DEMIX_SPAWNER_SECRET. DEMIX_SPAWNER=0 turns it off.
{
  const given = process.env.DEMIX_SPAWNER_ADDRESS && process.env.DEMIX_SPAWNER_SECRET ? { address: process.env.DEMIX_SPAWNER_ADDRESS, secret: process.env.DEMIX_SPAWNER_SECRET } : null;
  delete process.env.DEMIX_SPAWNER_ADDRESS;
  delete process.env.DEMIX_SPAWNER_SECRET;
  if (given) globalThis.__demixSpawnerAddress = given;
  else if (process.platform === 'linux' && !process.versions.electron && process.env.DEMIX_SPAWNER !== '0') {
    const { fork } = await import('node:child_process');
    const { randomBytes } = await import('node:crypto');
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const here = fileURLToPath(new URL('.', import.meta.url));
    const entry = ['spawner.mjs', 'engine-spawner.mjs'].map((f) => here + f).find((f) => existsSync(f));
    if (entry) {
      // An abstract socket (no file left behind) that only the holder of the secret may use.
      const where = { address: `@demix-spawner-${process.pid}-${randomBytes(8).toString('hex')}`, secret: randomBytes(24).toString('hex') };
      const spawner = fork(entry, [], {
        execArgv: [],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'json',
        env: { ...process.env, DEMIX_SPAWNER_ADDRESS: where.address, DEMIX_SPAWNER_SECRET: where.secret },
      });
      spawner.on('error', () => {});
      spawner.unref();
      spawner.channel?.unref();
      globalThis.__demixSpawnerAddress = where;
    }
  }
}

const wt = require('node:worker_threads');
wt.parentPort = port;
syncBuiltinESMExports();
await import(pathToFileURL(script).href);
