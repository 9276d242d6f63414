/**
 * Starts ffmpeg for the engine. In the engine process on Linux (engine/process-host.mjs starts
 * engine/spawner.mjs before the model loads) it goes through that small spawner, so this process,
 * which holds the model, never forks: a fork write-protects all its memory and the model's next
 * run then faults on every page it writes (one segment: 11.5 s after a single fork vs 2.2 s,
 * measured). The tool's stdin/stdout are Unix sockets connected straight to this process (no
 * relaying; the kernel's socket buffers give the same backpressure as pipes); its stderr and exit
 * come back over the spawner's IPC channel. Anywhere else (tests, benches, other platforms:
 * Windows and macOS do not fork to spawn), a plain child_process.spawn.
 *
 * The returned object is the part of ChildProcess the engine uses.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PassThrough, type Readable, type Writable } from 'node:stream';

export interface ToolProcess extends EventEmitter {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals): boolean;
}

type Io = 'pipe' | 'ignore';

/** Where the spawner listens, and the secret every connection opens with (engine/spawner.mjs). */
export interface SpawnerAddress {
  /** A Unix socket path; '@name' for an abstract socket (a NUL byte cannot travel in argv or env). */
  address: string;
  secret: string;
}

/** What engine/process-host.mjs leaves for this module when it has a spawner. */
interface SpawnerGlobal {
  __demixSpawnerAddress?: SpawnerAddress;
}

/** The engine's control connection to the spawner: JSON lines both ways. */
class SpawnerLink extends EventEmitter {
  connected = true;
  constructor(
    private readonly socket: net.Socket,
    readonly where: SpawnerAddress,
  ) {
    super();
    this.setMaxListeners(0); // one listener per tool in flight
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.emit('message', JSON.parse(line));
        } catch {
          // not a message
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.connected = false;
      this.emit('disconnect');
    });
    socket.unref(); // an idle engine process may end
  }

  send(m: object): void {
    if (!this.connected) throw new Error('the spawner is gone');
    this.socket.write(`${JSON.stringify(m)}\n`);
  }

  /** A new connection to the spawner for tool `id`'s stdin (fd 0) or stdout (fd 1): this process keeps this end. */
  stream(id: number, fd: 0 | 1): Promise<net.Socket> {
    return connectTo(this.where, { role: 'stdio', id, fd });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects to the spawner and sends the opening line; retries while it is still starting (up to `waitMs`). */
async function connectTo(where: SpawnerAddress, header: object, waitMs = 0): Promise<net.Socket> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect({ path: where.address.startsWith('@') ? `\0${where.address.slice(1)}` : where.address, allowHalfOpen: true });
        s.once('error', reject);
        s.once('connect', () => {
          s.off('error', reject);
          s.write(`${JSON.stringify({ secret: where.secret, ...header })}\n`);
          resolve(s);
        });
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (Date.now() >= deadline || (code !== 'ECONNREFUSED' && code !== 'ENOENT')) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

let link: Promise<SpawnerLink | null> | null = null;
let live: SpawnerLink | null = null;

/**
 * Tells this module where the spawner listens (engine/process-host.mjs does it through a global;
 * tests call it), or that there is none (null). A new address drops the old connection.
 */
export function useSpawner(where: SpawnerAddress | null): void {
  live?.close();
  live = null;
  link = null;
  (globalThis as SpawnerGlobal).__demixSpawnerAddress = where ?? undefined;
}

/**
 * The control connection, made once (waiting up to 10 s for a spawner that is still starting).
 * null when there is no spawner or it cannot be reached (or is gone): ffmpeg is then spawned here.
 */
function spawnerLink(): Promise<SpawnerLink | null> {
  const where = (globalThis as SpawnerGlobal).__demixSpawnerAddress;
  if (!where) return Promise.resolve(null);
  link ??= connectTo(where, { role: 'control' }, 10_000).then(
    (s) => {
      const l = new SpawnerLink(s, where);
      live = l;
      l.once('disconnect', () => {
        if (live === l) live = null;
      });
      return l;
    },
    () => null,
  );
  return link.then((l) => (l?.connected ? l : null));
}

/** Connects to the spawner now (before the model loads, say), so the first tool does not wait. Resolves whether it is there. */
export async function spawnerReady(): Promise<boolean> {
  return (await spawnerLink()) !== null;
}

export function spawnerActive(): boolean {
  return !!live?.connected;
}

/** Starts `cmd args` with stdin/stdout as asked and stderr piped. */
export function spawnTool(cmd: string, args: string[], stdio: [Io, Io]): ToolProcess {
  if (!(globalThis as SpawnerGlobal).__demixSpawnerAddress) return spawn(cmd, args, { stdio: [stdio[0], stdio[1], 'pipe'] }) as unknown as ToolProcess;
  return new SpawnedTool(cmd, args, stdio);
}

let nextId = 1;

class SpawnedTool extends EventEmitter implements ToolProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  pid: number | undefined;
  private readonly id = nextId++;
  /** How a signal reaches the tool once it is started (through the spawner, or to a direct child). */
  private signal: ((s: NodeJS.Signals) => void) | null = null;
  private pendingKill: NodeJS.Signals | null = null;
  private closed = false;

  constructor(cmd: string, args: string[], stdio: [Io, Io]) {
    super();
    // Streams exist at once (as a ChildProcess's do); the real ones are plugged in when connected.
    const inBuf = new PassThrough();
    const outBuf = new PassThrough();
    this.stdin = inBuf;
    this.stdout = outBuf;
    void this.start(cmd, args, stdio, inBuf, outBuf).catch((e: Error) => {
      this.emit('error', e);
      this.finish(null, null);
    });
  }

  private async start(cmd: string, args: string[], stdio: [Io, Io], inBuf: PassThrough, outBuf: PassThrough): Promise<void> {
    const l = await spawnerLink();
    if (!l) return this.direct(cmd, args, stdio, inBuf, outBuf);
    let onSpawned: () => void = () => {};
    const spawned = new Promise<void>((resolve) => (onSpawned = resolve));
    const onMessage = (m: { type: string; id: number; [k: string]: unknown }) => {
      if (!m || m.id !== this.id) return;
      if (m.type === 'spawned') {
        this.pid = m.pid as number;
        onSpawned();
      } else if (m.type === 'stderr') this.stderr.write(m.data as string);
      else if (m.type === 'error') this.emit('error', Object.assign(new Error(String(m.message)), { code: m.code }));
      else if (m.type === 'exit') {
        this.exitCode = (m.code as number | null) ?? null;
        this.signalCode = (m.signal as NodeJS.Signals | null) ?? null;
        this.emit('exit', this.exitCode, this.signalCode);
      } else if (m.type === 'close') {
        onSpawned();
        this.finish(m.code as number | null, m.signal as NodeJS.Signals | null);
      }
    };
    const onGone = () => {
      onSpawned();
      this.finish(null, 'SIGKILL');
    };
    l.on('message', onMessage);
    l.once('disconnect', onGone);
    this.once('close', () => {
      l.off('message', onMessage);
      l.off('disconnect', onGone);
    });
    const [inSock, outSock] = await Promise.all([stdio[0] === 'pipe' ? l.stream(this.id, 0) : null, stdio[1] === 'pipe' ? l.stream(this.id, 1) : null]);
    l.send({ type: 'spawn', id: this.id, cmd, args, stdio: [inSock ? 'socket' : 'ignore', outSock ? 'socket' : 'ignore'] });
    this.signal = (sig) => l.send({ type: 'kill', id: this.id, signal: sig });
    if (this.pendingKill) this.kill(this.pendingKill);
    // Nothing is written into the tool's input before the tool holds it: the spawner's own copy of
    // the socket could otherwise read (and lose) the first bytes.
    await spawned;
    if (this.pid === undefined && this.closed) {
      // It never started (a missing binary, or killed first): nothing will flow.
      inSock?.destroy();
      outSock?.destroy();
      inBuf.resume();
      outBuf.end();
      return;
    }
    if (inSock) {
      // What the engine writes goes to the tool; its end() becomes the tool's end of input.
      inBuf.pipe(inSock);
      inSock.on('error', (e) => inBuf.destroy(e));
      inSock.on('close', () => {
        if (!inBuf.destroyed) inBuf.destroy();
      });
      inSock.resume(); // nothing comes back on this socket
    } else inBuf.resume();
    if (outSock) {
      outSock.on('error', (e) => outBuf.destroy(e));
      outSock.pipe(outBuf);
    } else outBuf.end();
  }

  /** No spawner (or it is gone): the tool is this process's own child, behind the same streams. */
  private direct(cmd: string, args: string[], stdio: [Io, Io], inBuf: PassThrough, outBuf: PassThrough): void {
    const child = spawn(cmd, args, { stdio: [stdio[0], stdio[1], 'pipe'] });
    this.pid = child.pid;
    this.signal = (sig) => child.kill(sig);
    if (child.stdin) {
      inBuf.pipe(child.stdin);
      child.stdin.on('error', (e) => inBuf.destroy(e));
      child.stdin.on('close', () => {
        if (!inBuf.destroyed) inBuf.destroy();
      });
    } else inBuf.resume();
    if (child.stdout) child.stdout.pipe(outBuf);
    else outBuf.end();
    child.stderr!.pipe(this.stderr, { end: false });
    child.on('error', (e) => this.emit('error', e));
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.signalCode = signal;
      this.emit('exit', code, signal);
    });
    child.on('close', (code, signal) => this.finish(code, signal));
    if (this.pendingKill) this.kill(this.pendingKill);
  }

  private finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.exitCode === null && this.signalCode === null) {
      this.exitCode = code;
      this.signalCode = signal;
    }
    this.stderr.end();
    // 'close' as soon as the tool has exited and its stderr is in: output still in flight on the
    // socket goes on to the reader, which reads stdout to its end anyway (decode.ts).
    this.emit('close', this.exitCode, this.signalCode);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.closed) return false;
    if (!this.signal) {
      this.pendingKill = signal;
      return true;
    }
    try {
      this.signal(signal);
    } catch {
      return false;
    }
    return true;
  }
}
