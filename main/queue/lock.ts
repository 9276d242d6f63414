/**
 * The single-runner lock: one row in the database naming the core that runs workers (owner
 * token, pid, host, heartbeat). Another process sees it held and does not start workers. A lock
 * whose heartbeat is stale, or whose pid is dead on this host, is taken over.
 */
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';

export const HEARTBEAT_MS = 2_000;
export const STALE_MS = 15_000;

export interface LockHolder {
  pid: number;
  hostname: string;
  heartbeatAt: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RunnerLock {
  readonly owner = randomBytes(8).toString('hex');
  private timer: NodeJS.Timeout | null = null;
  private held = false;

  /** The owner this lock replaced when it was taken over (its running jobs are orphans), or null. */
  previousOwner: string | null = null;
  private readonly heartbeatMs: number;
  readonly staleMs: number;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly onLost: () => void = () => {},
    opts: { heartbeatMs?: number; staleMs?: number } = {},
  ) {
    this.heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
    this.staleMs = opts.staleMs ?? STALE_MS;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Tries to take the lock; returns null on success, or who holds it. */
  tryAcquire(now = Date.now()): LockHolder | null {
    const host = os.hostname();
    const result = this.sqlite
      .transaction((): LockHolder | null => {
        const row = this.sqlite.prepare('select owner, pid, hostname, heartbeat_at as heartbeatAt from runner_lock where id = 1').get() as
          | (LockHolder & { owner: string })
          | undefined;
        if (row && row.owner !== this.owner) {
          const stale = now - row.heartbeatAt > this.staleMs || (row.hostname === host && !pidAlive(row.pid));
          if (!stale) return { pid: row.pid, hostname: row.hostname, heartbeatAt: row.heartbeatAt };
          this.previousOwner = row.owner;
        }
        this.sqlite
          .prepare(
            `insert into runner_lock (id, owner, pid, hostname, heartbeat_at, started_at) values (1, ?, ?, ?, ?, ?)
             on conflict(id) do update set owner = excluded.owner, pid = excluded.pid, hostname = excluded.hostname,
             heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at`,
          )
          .run(this.owner, process.pid, host, now, now);
        return null;
      })
      .immediate();
    if (result === null && !this.held) {
      this.held = true;
      this.timer = setInterval(() => this.beat(), this.heartbeatMs);
      this.timer.unref();
    }
    return result;
  }

  private beat(): void {
    try {
      const res = this.sqlite.prepare('update runner_lock set heartbeat_at = ? where id = 1 and owner = ?').run(Date.now(), this.owner);
      if (res.changes !== 1) this.lost();
    } catch {
      // Busy database: try again at the next beat.
    }
  }

  private lost(): void {
    if (!this.held) return;
    this.held = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.onLost();
  }

  release(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.held) return;
    this.held = false;
    try {
      this.sqlite.prepare('delete from runner_lock where id = 1 and owner = ?').run(this.owner);
    } catch {
      // The database may already be closed; the heartbeat will go stale.
    }
  }
}
