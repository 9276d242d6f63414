/**
 * Opens the SQLite database (better-sqlite3 + drizzle): WAL, foreign keys, busy timeout, schema
 * migrations applied on open. A corrupt or unreadable database is moved aside, never deleted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';
import { CoreError } from '../core-error.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface OpenedDb {
  db: Db;
  sqlite: Database.Database;
  path: string;
  /** Set when a corrupt database was moved aside: where it went. */
  movedAside: string | null;
}

/** drizzle/ at the repository root (or next to a bundle that copies it; override with DEMIX_MIGRATIONS_DIR). */
export function migrationsFolder(): string {
  if (process.env.DEMIX_MIGRATIONS_DIR) return process.env.DEMIX_MIGRATIONS_DIR;
  const candidates = [
    fileURLToPath(new URL('../../drizzle', import.meta.url)),
    fileURLToPath(new URL('../drizzle', import.meta.url)),
    fileURLToPath(new URL('./drizzle', import.meta.url)),
  ];
  return candidates.find((c) => fs.existsSync(path.join(c, 'meta', '_journal.json'))) ?? candidates[0];
}

function isCorruption(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  const msg = (e as Error)?.message ?? '';
  return (
    code === 'SQLITE_CORRUPT' ||
    code === 'SQLITE_NOTADB' ||
    code.startsWith('SQLITE_CORRUPT') ||
    /file is not a database|malformed|corrupt/i.test(msg)
  );
}

function configure(sqlite: Database.Database): void {
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  const check = sqlite.pragma('quick_check', { simple: true });
  if (check !== 'ok') {
    const err = new Error(`database integrity check failed: ${String(check)}`) as Error & { code: string };
    err.code = 'SQLITE_CORRUPT';
    throw err;
  }
}

function openRaw(file: string, migrations: string): { sqlite: Database.Database; db: Db } {
  // Unpackaged Electron runs (`npm start`) load a better-sqlite3 binary built for Electron's ABI
  // (scripts/electron-native.mjs); Node, the CLI and packaged apps use the default one.
  const binding = process.versions.electron ? process.env.DEMIX_SQLITE_BINDING : undefined;
  const sqlite = new Database(file, binding ? { nativeBinding: binding } : {});
  try {
    configure(sqlite);
    const db = drizzle(sqlite, { schema }) as Db;
    try {
      migrate(db, { migrationsFolder: migrations });
    } catch (e) {
      // Another process may have applied the same migration a moment ago: retry once.
      if (/already exists|duplicate column/i.test((e as Error).message)) migrate(db, { migrationsFolder: migrations });
      else throw e;
    }
    return { sqlite, db };
  } catch (e) {
    sqlite.close();
    throw e;
  }
}

function timestamp(d = new Date()): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

/**
 * Opens (creating if needed) `<dataDir>/demix.db`. If the file is corrupt or not a database it
 * is renamed to `demix.db.corrupt-<timestamp>` (with its -wal/-shm), `onWarning` is told where,
 * and a fresh database is created.
 */
export function openDatabase(
  dbPath: string,
  opts: { migrationsFolder?: string; onWarning?: (message: string) => void } = {},
): OpenedDb {
  const migrations = opts.migrationsFolder ?? migrationsFolder();
  try {
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  } catch (e) {
    throw new CoreError('INTERNAL', `Cannot create the data folder ${path.dirname(dbPath)}: ${(e as Error).message}. Choose another with --data-dir or DEMIX_DATA_DIR.`);
  }
  try {
    const { sqlite, db } = openRaw(dbPath, migrations);
    return { sqlite, db, path: dbPath, movedAside: null };
  } catch (e) {
    if (!isCorruption(e)) {
      throw new CoreError('INTERNAL', `Cannot open the database ${dbPath}: ${(e as Error).message}`, { cause: e });
    }
    const aside = `${dbPath}.corrupt-${timestamp()}`;
    fs.renameSync(dbPath, aside);
    for (const suffix of ['-wal', '-shm']) {
      if (fs.existsSync(dbPath + suffix)) fs.renameSync(dbPath + suffix, aside + suffix);
    }
    opts.onWarning?.(
      `The job database ${dbPath} was unreadable (${(e as Error).message}); it was moved to ${aside} and a new one was created. Job history starts empty; your stems on disk are untouched.`,
    );
    const { sqlite, db } = openRaw(dbPath, migrations);
    return { sqlite, db, path: dbPath, movedAside: aside };
  }
}
