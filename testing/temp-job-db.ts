/**
 * Test support (imported only by *.test.ts files): job databases in temporary folders, closed
 * after each test, and the default job options as the job store keeps them.
 */
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterEach } from 'vitest';
import { openDatabase } from '../main/store/db.ts';
import { tempDir } from './test-harness.ts';

export const JOB_OPTIONS = { modelId: 'htdemucs', format: 'wav' as const, bits: 16 as const, clipMode: 'rescale' as const, twoStems: null, shifts: 0, device: 'auto' as const };

/** Registers the close-after-each-test and returns the opener: a fresh `demix.db` in a new temp folder. */
export function tempJobDatabases() {
  const opened: Database.Database[] = [];
  afterEach(() => {
    for (const d of opened.splice(0)) d.close();
  });
  return () => {
    const dir = tempDir();
    const { db, sqlite } = openDatabase(path.join(dir, 'demix.db'));
    opened.push(sqlite);
    return { dir, db, sqlite };
  };
}
