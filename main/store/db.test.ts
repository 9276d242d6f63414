import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationsFolder, openDatabase } from './db.ts';
import { tempDir } from '../../testing/test-harness.ts';

const opened: Database.Database[] = [];
afterEach(() => {
  for (const d of opened.splice(0)) if (d.open) d.close();
});

/** A copy of drizzle/ with only the first `n` migrations in its journal (an older app version). */
function migrationsUpTo(n: number): string {
  const src = migrationsFolder();
  const dst = path.join(tempDir('demix-mig-'), 'drizzle');
  fs.cpSync(src, dst, { recursive: true });
  const journalPath = path.join(dst, 'meta', '_journal.json');
  const journal = JSON.parse(fs.readFileSync(journalPath, 'utf8'));
  journal.entries = journal.entries.slice(0, n);
  fs.writeFileSync(journalPath, JSON.stringify(journal));
  return dst;
}

function columns(db: Database.Database, table: string): string[] {
  return (db.prepare(`pragma table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
}

describe('database', () => {
  it('creates a fresh database with every migration, WAL and foreign keys on', () => {
    const file = path.join(tempDir(), 'data', 'demix.db');
    const { sqlite, movedAside } = openDatabase(file);
    opened.push(sqlite);
    expect(movedAside).toBeNull();
    expect(sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(sqlite.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(columns(sqlite, 'stems')).toContain('kind');
    expect(columns(sqlite, 'jobs')).toContain('input_peaks');
    const applied = sqlite.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number };
    const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder(), 'meta', '_journal.json'), 'utf8'));
    expect(applied.n).toBe(journal.entries.length);
    expect(journal.entries.length).toBeGreaterThanOrEqual(2);
  });

  it('upgrades a database created by the previous schema (0000) in place, keeping its rows', () => {
    const file = path.join(tempDir(), 'demix.db');
    const old = openDatabase(file, { migrationsFolder: migrationsUpTo(1) });
    expect(columns(old.sqlite, 'stems')).not.toContain('kind');
    old.sqlite
      .prepare(
        `insert into jobs (id, name, input_path, model_id, options, options_key, status, created_at, output_root, output_dir)
         values ('j1', 'a.mp3', '/music/a.mp3', 'htdemucs', '{}', 'k', 'done', 1, '/out', '/out/htdemucs/a')`,
      )
      .run();
    old.sqlite.prepare(`insert into stems (job_id, name, path, format, duration_sec) values ('j1', 'drums', '/out/htdemucs/a/drums.wav', 'wav', 3.5)`).run();
    old.sqlite.close();

    const now = openDatabase(file);
    opened.push(now.sqlite);
    expect(columns(now.sqlite, 'stems')).toContain('kind');
    expect(columns(now.sqlite, 'runner_lock')).toContain('owner');
    const stem = now.sqlite.prepare(`select name, kind, duration_sec from stems where job_id = 'j1'`).get();
    expect(stem).toEqual({ name: 'drums', kind: 'stem', duration_sec: 3.5 });
    expect(now.sqlite.prepare(`select status from jobs where id = 'j1'`).get()).toEqual({ status: 'done' });
    // Opening again applies nothing twice.
    now.sqlite.close();
    const again = openDatabase(file);
    opened.push(again.sqlite);
    const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder(), 'meta', '_journal.json'), 'utf8'));
    expect((again.sqlite.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number }).n).toBe(journal.entries.length);
  });

  it('upgrades step by step, 0000 → 0001 → 0002 → 0003, each step keeping the rows and adding only its own changes', () => {
    const file = path.join(tempDir(), 'demix.db');
    const indexes = (db: Database.Database) => (db.prepare(`select name from sqlite_master where type = 'index' and tbl_name = 'jobs'`).all() as { name: string }[]).map((r) => r.name);
    const applied = (db: Database.Database) => (db.prepare('select count(*) as n from __drizzle_migrations').get() as { n: number }).n;
    const step = (n: number) => {
      const r = openDatabase(file, { migrationsFolder: migrationsUpTo(n) });
      expect(applied(r.sqlite), `after step ${n}`).toBe(n);
      return r.sqlite;
    };

    // 0000: the first schema, with a finished job and its stem.
    let db = step(1);
    expect(columns(db, 'stems')).not.toContain('kind');
    expect(columns(db, 'jobs')).not.toContain('input_peaks');
    expect(indexes(db)).toContain('jobs_status_order');
    db.prepare(
      `insert into jobs (id, name, input_path, model_id, options, options_key, status, created_at, output_root, output_dir, batch_id)
       values ('j1', 'a.mp3', '/music/a.mp3', 'htdemucs', '{}', 'k', 'done', 1, '/out', '/out/htdemucs/a', null)`,
    ).run();
    db.prepare(`insert into stems (job_id, name, path, format, duration_sec) values ('j1', 'drums', '/out/htdemucs/a/drums.wav', 'wav', 3.5)`).run();
    db.close();

    // 0001: stem kind (existing stems become 'stem'), input peaks, lock owner.
    db = step(2);
    expect(columns(db, 'stems')).toContain('kind');
    expect(columns(db, 'jobs')).toContain('input_peaks');
    expect(columns(db, 'runner_lock')).toContain('owner');
    expect(db.prepare(`select kind from stems where job_id = 'j1'`).get()).toEqual({ kind: 'stem' });
    expect(indexes(db)).toContain('jobs_status_order');
    expect(columns(db, 'jobs')).not.toContain('owner_id');
    db.prepare(
      `insert into jobs (id, name, input_path, model_id, options, options_key, status, created_at, output_root, output_dir)
       values ('j2', 'b.mp3', '/music/b.mp3', 'htdemucs', '{}', 'k', 'queued', 2, '/out', '/out/htdemucs/b')`,
    ).run();
    db.close();

    // 0002: the queue-order and batch-status indexes replace the old ones.
    db = step(3);
    expect(indexes(db)).toEqual(expect.arrayContaining(['jobs_queue_order', 'jobs_batch_status']));
    expect(indexes(db)).not.toContain('jobs_status_order');
    expect(indexes(db)).not.toContain('jobs_batch');
    expect(columns(db, 'jobs')).not.toContain('owner_id');
    db.close();

    // 0003: the wave-2 job columns, empty (or their default) on existing rows.
    db = step(4);
    for (const c of ['owner_id', 'heartbeat_at', 'fallback_reason', 'ready_samples', 'worker_host', 'remote_id', 'excerpt_start', 'excerpt_end', 'uploaded', 'bpm', 'musical_key', 'key_confidence', 'beats']) {
      expect(columns(db, 'jobs'), c).toContain(c);
    }
    expect(db.prepare(`select id, status, owner_id, uploaded, bpm from jobs order by id`).all()).toEqual([
      { id: 'j1', status: 'done', owner_id: null, uploaded: 0, bpm: null },
      { id: 'j2', status: 'queued', owner_id: null, uploaded: 0, bpm: null },
    ]);
    expect(db.prepare(`select name, kind, duration_sec from stems where job_id = 'j1'`).get()).toEqual({ name: 'drums', kind: 'stem', duration_sec: 3.5 });
    db.close();

    // The app's own folder has nothing more to apply to it.
    const now = openDatabase(file);
    opened.push(now.sqlite);
    const journal = JSON.parse(fs.readFileSync(path.join(migrationsFolder(), 'meta', '_journal.json'), 'utf8'));
    expect(applied(now.sqlite)).toBe(journal.entries.length);
  });

  it('moves a corrupt database aside (never deletes it) and starts a fresh one', () => {
    const dir = tempDir();
    const file = path.join(dir, 'demix.db');
    const garbage = Buffer.from('this is definitely not an SQLite database file '.repeat(200));
    fs.writeFileSync(file, garbage);
    const warnings: string[] = [];
    const { sqlite, movedAside } = openDatabase(file, { onWarning: (m) => warnings.push(m) });
    opened.push(sqlite);
    expect(movedAside).toMatch(/demix\.db\.corrupt-/);
    expect(fs.readFileSync(movedAside!)).toEqual(garbage);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(movedAside!);
    expect((sqlite.prepare('select count(*) as n from jobs').get() as { n: number }).n).toBe(0);
  });

  it('moves aside a database whose pages are damaged', () => {
    const dir = tempDir();
    const file = path.join(dir, 'demix.db');
    const first = openDatabase(file);
    const ins = first.sqlite.prepare(`insert into settings (key, value) values (?, ?)`);
    for (let i = 0; i < 2000; i++) ins.run(`k${i}`, 'x'.repeat(200));
    first.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    first.sqlite.close();
    // Scribble over the middle of the file (past the header page).
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(8192, 0xab), 0, 8192, 4096 * 3);
    fs.closeSync(fd);
    const warnings: string[] = [];
    const { sqlite, movedAside } = openDatabase(file, { onWarning: (m) => warnings.push(m) });
    opened.push(sqlite);
    expect(movedAside).not.toBeNull();
    expect(fs.existsSync(movedAside!)).toBe(true);
    expect(warnings[0]).toMatch(/moved to/);
  });
});
