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
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/** What engine/process-host.mjs leaves for this module: the spawner process. */
interface SpawnerGlobal {
  __demixSpawner?: ChildProcess;
}

export function spawnerActive(): boolean {
  const s = (globalThis as SpawnerGlobal).__demixSpawner;
  return !!s && s.connected;
}

/** Starts `cmd args` with stdin/stdout as asked and stderr piped. */
export function spawnTool(cmd: string, args: string[], stdio: [Io, Io]): ToolProcess {
  const spawner = (globalThis as SpawnerGlobal).__demixSpawner;
  if (!spawner || !spawner.connected) return spawn(cmd, args, { stdio: [stdio[0], stdio[1], 'pipe'] }) as unknown as ToolProcess;
  return new SpawnedTool(spawner, cmd, args, stdio);
}

let nextId = 1;
let server: Promise<{ server: net.Server; address: string }> | null = null;
let pairing: Promise<unknown> = Promise.resolve();
const waitingAccept: ((s: net.Socket) => void)[] = [];

function listen(): Promise<{ server: net.Server; address: string }> {
  server ??= new Promise((resolve, reject) => {
    // An abstract socket on Linux: no file to clean up, nobody else's to collide with.
    const address = `\0demix-tools-${process.pid}-${randomBytes(6).toString('hex')}`;
    const srv = net.createServer({ allowHalfOpen: true }, (s) => waitingAccept.shift()?.(s));
    srv.unref();
    srv.once('error', reject);
    srv.listen(address, () => resolve({ server: srv, address }));
  });
  return server;
}

/** Two connected sockets: [the end this process keeps, the end the tool gets]. One pair at a time. */
function socketPair(): Promise<[net.Socket, net.Socket]> {
  const p = pairing.then(async () => {
    const { address } = await listen();
    const accepted = new Promise<net.Socket>((resolve) => waitingAccept.push(resolve));
    const given = net.connect({ path: address, allowHalfOpen: true });
    await new Promise<void>((resolve, reject) => {
      given.once('connect', resolve);
      given.once('error', reject);
    });
    return [await accepted, given] as [net.Socket, net.Socket];
  });
  pairing = p.catch(() => {});
  return p;
}

class SpawnedTool extends EventEmitter implements ToolProcess {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  pid: number | undefined;
  private readonly id = nextId++;
  private started = false;
  private pendingKill: NodeJS.Signals | null = null;
  private closed = false;
  private onSpawned: (() => void) | null = null;

  constructor(
    private readonly spawner: ChildProcess,
    cmd: string,
    args: string[],
    stdio: [Io, Io],
  ) {
    super();
    // Streams exist at once (as a ChildProcess's do); the sockets are plugged in when connected.
    const inBuf = new PassThrough();
    const outBuf = new PassThrough();
    this.stdin = inBuf;
    this.stdout = outBuf;
    const onMessage = (m: { type: string; id: number; [k: string]: unknown }) => {
      if (!m || m.id !== this.id) return;
      if (m.type === 'spawned') {
        this.pid = m.pid as number;
        this.onSpawned?.();
      }
      else if (m.type === 'stderr') this.stderr.write(m.data as string);
      else if (m.type === 'error') {
        const e = Object.assign(new Error(String(m.message)), { code: m.code });
        this.emit('error', e);
      } else if (m.type === 'exit') {
        this.exitCode = (m.code as number | null) ?? null;
        this.signalCode = (m.signal as NodeJS.Signals | null) ?? null;
        this.emit('exit', this.exitCode, this.signalCode);
      } else if (m.type === 'close') {
        this.onSpawned?.();
        this.finish(m.code as number | null, m.signal as NodeJS.Signals | null);
      }
    };
    const onGone = () => this.finish(null, 'SIGKILL');
    spawner.on('message', onMessage);
    spawner.once('disconnect', onGone);
    this.once('close', () => {
      spawner.off('message', onMessage);
      spawner.off('disconnect', onGone);
    });
    void this.start(cmd, args, stdio, inBuf, outBuf).catch((e: Error) => {
      this.emit('error', e);
      this.finish(null, null);
    });
  }

  private async start(cmd: string, args: string[], stdio: [Io, Io], inBuf: PassThrough, outBuf: PassThrough): Promise<void> {
    let inSock: net.Socket | null = null;
    let outSock: net.Socket | null = null;
    if (stdio[0] === 'pipe') {
      const [keep, give] = await socketPair();
      inSock = keep;
      this.spawner.send({ type: 'stdio', id: this.id, fd: 0 }, give);
    }
    if (stdio[1] === 'pipe') {
      const [keep, give] = await socketPair();
      outSock = keep;
      this.spawner.send({ type: 'stdio', id: this.id, fd: 1 }, give);
    }
    // Nothing is written into the tool's input before the tool holds it: the spawner's own copy of
    // the socket could otherwise read (and lose) the first bytes.
    const spawned = new Promise<void>((resolve) => (this.onSpawned = resolve));
    this.spawner.send({ type: 'spawn', id: this.id, cmd, args, stdio: [stdio[0] === 'pipe' ? 'socket' : 'ignore', stdio[1] === 'pipe' ? 'socket' : 'ignore'] });
    this.started = true;
    if (this.pendingKill) this.kill(this.pendingKill);
    await spawned;
    if (inSock) {
      // What the engine writes goes to the tool; its end() becomes the tool's end of input.
      const sock = inSock;
      inBuf.pipe(sock);
      sock.on('error', (e) => inBuf.destroy(e));
      sock.on('close', () => {
        if (!inBuf.destroyed) inBuf.destroy();
      });
      sock.resume(); // nothing comes back on this socket
    } else inBuf.resume();
    if (outSock) outSock.pipe(outBuf);
    else outBuf.end();
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
    if (!this.started) {
      this.pendingKill = signal;
      return true;
    }
    try {
      this.spawner.send({ type: 'kill', id: this.id, signal });
    } catch {
      return false;
    }
    return true;
  }
}

