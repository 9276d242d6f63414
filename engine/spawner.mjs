// The engine process's spawner (Linux): a small Node process, started by engine/process-host.mjs
// before the model loads, that starts ffmpeg for the engine (engine/tool-spawn.ts).
//
// Why: spawning is a fork() of the process that spawns, and forking the engine process (4-5 GB
// with the model) write-protects all of its memory; the model's next run then takes a page fault
// on every page it writes: 11.5 s instead of 2.2 s for one segment, after a single spawn of
// /bin/true (measured). Every job spawns ffmpeg to probe and decode its input and to encode its
// stems, so the first segment of every job paid it. Forking this small process costs nothing.
//
// Protocol (IPC, in order): { type: 'stdio', id, fd } with a socket handle (fd 0 or 1: the
// engine's end of the stream is the other side of that socket); { type: 'spawn', id, cmd, args,
// stdio: [in, out] } where each is 'socket' or 'ignore' (stderr is relayed); { type: 'kill', id,
// signal }. Answers: { type: 'spawned', id, pid }, { type: 'stderr', id, data },
// { type: 'error', id, code, message }, { type: 'exit', id, code, signal }, { type: 'close', id, code, signal }.
import { spawn } from 'node:child_process';

const handles = new Map(); // id -> [stdin socket, stdout socket]
const children = new Map(); // id -> ChildProcess
const send = (m) => {
  try {
    process.send(m);
  } catch {
    // the engine is gone: it will not read this
  }
};

process.on('message', (m, handle) => {
  if (!m || typeof m !== 'object') return;
  if (m.type === 'stdio') {
    const h = handles.get(m.id) ?? [null, null];
    handle?.pause(); // this process never reads it: the bytes are the tool's
    h[m.fd] = handle ?? null;
    handles.set(m.id, h);
    return;
  }
  if (m.type === 'spawn') {
    const [h0, h1] = handles.get(m.id) ?? [null, null];
    handles.delete(m.id);
    let child;
    try {
      child = spawn(m.cmd, m.args, { stdio: [m.stdio[0] === 'socket' && h0 ? h0 : 'ignore', m.stdio[1] === 'socket' && h1 ? h1 : 'ignore', 'pipe'] });
    } catch (e) {
      send({ type: 'error', id: m.id, code: e?.code ?? 'ESPAWN', message: String(e?.message ?? e) });
      send({ type: 'close', id: m.id, code: null, signal: null });
      h0?.destroy();
      h1?.destroy();
      return;
    }
    // The child holds its own copies of the sockets now; this process lets go of them.
    h0?.destroy();
    h1?.destroy();
    children.set(m.id, child);
    if (child.pid) send({ type: 'spawned', id: m.id, pid: child.pid });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (data) => send({ type: 'stderr', id: m.id, data }));
    child.on('error', (e) => send({ type: 'error', id: m.id, code: e.code ?? 'ESPAWN', message: e.message }));
    child.on('exit', (code, signal) => send({ type: 'exit', id: m.id, code, signal }));
    child.on('close', (code, signal) => {
      children.delete(m.id);
      send({ type: 'close', id: m.id, code, signal });
    });
    return;
  }
  if (m.type === 'kill') {
    try {
      children.get(m.id)?.kill(m.signal ?? 'SIGTERM');
    } catch {
      // already gone
    }
  }
});

// The engine process is gone: take the tools it started with us.
process.on('disconnect', () => {
  for (const c of children.values()) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(0);
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});
