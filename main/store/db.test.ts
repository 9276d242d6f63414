import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationsFolder, openDatabase } from './db.ts';
import { tempDir } from '../queue/test-harness.ts';

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
