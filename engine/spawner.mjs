// The engine process's spawner (Linux): a small process that starts ffmpeg for the engine
// (engine/tool-spawn.ts), so the engine process itself never forks.
//
// Why: spawning is a fork() of the process that spawns, and forking the engine process (4-5 GB
// with the model) write-protects all of its memory; the model's next run then takes a page fault
// on every page it writes: 11.5 s instead of 2.2 s for one segment, after a single spawn of
// /bin/true (measured). Every job spawns ffmpeg to probe and decode its input and to encode its
// stems, so the first segment of every job paid it. Forking this small process costs nothing.
//
// Who starts it: engine/process-host.mjs under Node (the CLI, `demix serve`, workers), with
// child_process.fork before the model loads; in the Electron app the main process, as a utility
// process beside the engine's (main/electron/engine-process.ts): a utility process cannot start
// a Node child itself (the app's binary has the RunAsNode fuse off).
//
// Transport: one listening Unix socket in the abstract namespace (no file to clean up, even after
// a SIGKILL), named by DEMIX_SPAWNER_ADDRESS ('@' for the leading NUL byte); every connection must
// open with the secret in DEMIX_SPAWNER_SECRET. Both come in the environment, which only this
// user can read (/proc/<pid>/environ; argv is world-readable): no other user's process can ask
// this one for anything, nor learn the name early enough to take it before this process does.
// Each connection opens with one JSON line:
//   { secret, role: 'control' }            the engine's one control connection, JSON lines after:
//     engine → here: { type: 'spawn', id, cmd, args, stdio: [in, out] } (each 'socket' or
//                    'ignore'; stderr is relayed), { type: 'kill', id, signal }
//     here → engine: { type: 'spawned', id, pid }, { type: 'stderr', id, data },
//                    { type: 'error', id, code, message }, { type: 'exit', id, code, signal },
//                    { type: 'close', id, code, signal }
//   { secret, role: 'stdio', id, fd }     a stream for tool `id`: fd 0 (its stdin) or 1 (its
//     stdout). The socket itself becomes the tool's fd; the engine keeps the other end, so the
//     bytes go straight between the two (no relaying). The engine sends nothing more on it before
//     'spawned', when this process has let go of its copy.
// It ends (killing the tools it started) when the control connection closes, when it had none
// within 60 s, or when the Node parent that forked it is gone.
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';

const address = process.env.DEMIX_SPAWNER_ADDRESS ?? '';
const secret = Buffer.from(process.env.DEMIX_SPAWNER_SECRET ?? '');
if (!address || secret.length < 16) {
  console.error('engine/spawner.mjs: start it with DEMIX_SPAWNER_ADDRESS and DEMIX_SPAWNER_SECRET in its environment');
  process.exit(2);
}
// The tools do not inherit them.
delete process.env.DEMIX_SPAWNER_ADDRESS;
delete process.env.DEMIX_SPAWNER_SECRET;

const streams = new Map(); // id -> [stdin socket, stdout socket]
const pending = new Map(); // id -> spawn message waiting for its streams (they come on other connections)
const dropped = new Set(); // ids killed before they started: their streams, if they come, are closed
const children = new Map(); // id -> ChildProcess
let control = null;

function send(m) {
  if (control && !control.destroyed) control.write(`${JSON.stringify(m)}\n`);
}

function shutdown() {
  for (const c of children.values()) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(0);
}

function authorized(header) {
  const given = Buffer.from(typeof header?.secret === 'string' ? header.secret : '');
  return given.length === secret.length && timingSafeEqual(given, secret);
}

/** Reads one line from a fresh connection, then stops reading (nothing more is taken from it). */
function readHeader(socket, onHeader) {
  let buf = '';
  const onData = (chunk) => {
    buf += chunk;
    const nl = buf.indexOf('\n');
    if (nl < 0) {
      if (buf.length > 64 * 1024) socket.destroy();
      return;
    }
    socket.off('data', onData);
    socket.pause();
    let header = null;
    try {
      header = JSON.parse(buf.slice(0, nl));
    } catch {
      // not ours
    }
    if (!authorized(header)) {
      socket.destroy();
      return;
    }
    onHeader(header, buf.slice(nl + 1));
  };
  socket.setEncoding('utf8');
  socket.on('data', onData);
  socket.on('error', () => {});
}

function onControl(socket, rest) {
  if (control) {
    socket.destroy(); // one engine per spawner
    return;
  }
  control = socket;
  clearTimeout(idle);
  let buf = rest;
  const lines = () => {
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        continue; // not a message
      }
      onMessage(m);
    }
  };
  socket.on('data', (chunk) => {
    buf += chunk;
    lines();
  });
  // The engine closed its end (it ended, or was killed): half-open sockets never 'close' by themselves.
  socket.on('end', shutdown);
  socket.on('close', shutdown);
  socket.resume();
  lines();
}

function onMessage(m) {
  if (!m || typeof m !== 'object') return;
  if (m.type === 'spawn') {
    pending.set(m.id, m);
    tryStart(m.id);
    return;
  }
  if (m.type === 'kill') {
    if (pending.delete(m.id)) {
      // Killed before it started: it never will.
      dropped.add(m.id);
      for (const s of streams.get(m.id) ?? []) s?.destroy();
      streams.delete(m.id);
      send({ type: 'close', id: m.id, code: null, signal: m.signal ?? 'SIGTERM' });
      return;
    }
    try {
      children.get(m.id)?.kill(m.signal ?? 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

/** Starts tool `id` once its spawn message and every stream it asked for are here. */
function tryStart(id) {
  const m = pending.get(id);
  if (!m) return;
  const [s0, s1] = streams.get(id) ?? [null, null];
  if ((m.stdio[0] === 'socket' && !s0) || (m.stdio[1] === 'socket' && !s1)) return;
  pending.delete(id);
  streams.delete(id);
  let child;
  try {
    child = spawn(m.cmd, m.args, { stdio: [m.stdio[0] === 'socket' ? s0 : 'ignore', m.stdio[1] === 'socket' ? s1 : 'ignore', 'pipe'] });
  } catch (e) {
    send({ type: 'error', id: m.id, code: e?.code ?? 'ESPAWN', message: String(e?.message ?? e) });
    send({ type: 'close', id: m.id, code: null, signal: null });
    s0?.destroy();
    s1?.destroy();
    return;
  }
  // The child holds its own copies of the sockets now; this process lets go of them (closing a
  // copy does not shut the connection down).
  s0?.destroy();
  s1?.destroy();
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
}

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  readHeader(socket, (header, rest) => {
    if (header.role === 'control') onControl(socket, rest);
    else if (header.role === 'stdio' && (header.fd === 0 || header.fd === 1) && Number.isInteger(header.id)) {
      if (dropped.has(header.id)) return void socket.destroy();
      const s = streams.get(header.id) ?? [null, null];
      s[header.fd] = socket;
      streams.set(header.id, s);
      tryStart(header.id);
    } else socket.destroy();
  });
});
server.on('error', (e) => {
  console.error(`engine/spawner.mjs: ${e.message}`);
  process.exit(1);
});
server.listen(address.startsWith('@') ? `\0${address.slice(1)}` : address);

// Nobody came: do not linger.
const idle = setTimeout(shutdown, 60_000);
// Forked by a Node parent (engine/process-host.mjs): go when it goes. (A utility process has a
// parentPort instead; the app's main process ends it with its engine.)
if (typeof process.send === 'function' && !process.parentPort) {
  process.on('disconnect', shutdown);
  if (!process.connected) shutdown(); // it went while this process was starting
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});
