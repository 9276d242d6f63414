/**
 * Test and bench support: a real Debian `redis-server` on a free loopback port with a temporary
 * directory, started and stopped by the test itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REDIS_SERVER = process.env.DEMIX_REDIS_SERVER || '/usr/bin/redis-server';

/** Why Redis tests cannot run here, or null when they can. */
export function redisMissing(): string | null {
  if (!fs.existsSync(REDIS_SERVER)) return `redis-server is not installed (${REDIS_SERVER}); install Debian's redis-server package (.ci/run does)`;
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : `redis-server does not run: ${r.stderr || r.error?.message}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Stops it (SIGTERM; with AOF it writes everything first). */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory (data back when `aof`). */
  restart(): Promise<void>;
}

export async function startRedis(o: { aof?: boolean; password?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'demix-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--loglevel', 'warning'];
  if (o.aof) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  else args.push('--appendonly', 'no');
  args.push('--maxmemory-policy', 'noeviction');
  if (o.password) args.push('--requirepass', o.password);
  let child: ChildProcess | null = null;
  const launch = async () => {
    child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d) => (err += d));
    const start = Date.now();
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${err}`);
      if (Date.now() - start > 15_000) throw new Error(`redis-server did not start on port ${port}: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    const c = child as ChildProcess | null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
    });
  };
  await launch();
  const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    dir,
    stop: async () => {
      await stop();
    },
    restart: async () => {
      await stop();
      await launch();
    },
  };
}
