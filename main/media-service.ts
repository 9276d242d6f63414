/**
 * The media service: everything the player and the mixdown dialog read or write about a job's
 * audio files. Waveform peaks (decoded once, cached in the database), mixdown export, and the
 * resolution of a job's media names (a stem, 'mix' = the input, a mixdown file) to paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import type { Job, ParsedRequestOf, Peaks, ResponseOf } from '../preload/contract.ts';
import { CoreError } from './core-error.ts';
import { toErrorInfo } from '../engine/errors.ts';
import { partialPeaks } from './media-pcm.ts';
import { MediaThread } from './media-thread.ts';
import { mixdownFileName } from './mixdown.ts';
import { decodePeaks, encodePeaks, toContractPeaks, type CachedPeaks } from './peaks.ts';
import type { Db } from './store/db.ts';
import type { JobStore } from './store/job-store.ts';
import { jobs as jobsTable, stems as stemsTable } from './store/schema.ts';

export interface MediaService {
  peaks(id: string, stem: string, buckets: number): Promise<Peaks>;
  exportMixdown(req: ParsedRequestOf<'mixdown:export'>): Promise<ResponseOf<'mixdown:export'>>;
  /** Absolute path of a file owned by the job: a stem, 'mix' (the input), or a mixdown file name; else null. */
  mediaPath(jobId: string, stem: string): string | null;
  /** Whether `p` (as given, or after resolving symlinks) is a job's input, output folder, stem or mixdown. */
  ownsPath(p: string): Promise<boolean>;
  /** Stops the media worker thread. */
  close(): Promise<void>;
}

/** Maps a mixdown failure to a wire error a user can act on (a full disk is not an internal error). */
export function mixdownError(e: unknown, outDir: string): CoreError {
  const info = toErrorInfo(e, { outputDir: outDir });
  switch (info.code) {
    case 'DISK_FULL':
      return new CoreError('DISK_FULL', info.message, { cause: e });
    case 'OUTPUT_UNWRITABLE':
      return new CoreError('OUTPUT_UNWRITABLE', info.message, { cause: e });
    case 'INPUT_NOT_FOUND':
      return new CoreError('NOT_FOUND', info.message, { cause: e });
    case 'INTERNAL':
      return new CoreError('INTERNAL', (e as Error)?.message ?? String(e), { cause: e });
    default:
      return new CoreError('INTERNAL', info.message, { cause: e });
  }
}

export function createMediaService(deps: { db: Db; store: JobStore; thread?: MediaThread; liveJob?: (id: string) => Job }): MediaService {
  const { db, store } = deps;
  // Decoding and summing run in a worker thread: a 5-minute song must not freeze the core's event loop.
  const thread = deps.thread ?? new MediaThread();

  // One decode per (job, stem) at a time: concurrent requests share it.
  const peakJobs = new Map<string, Promise<CachedPeaks>>();

  const peaks = async (id: string, stem: string, buckets: number): Promise<Peaks> => {
    const row = store.row(id);
    if (!row) throw new CoreError('NOT_FOUND', `No job with id ${id}.`);
    if (stem === 'mix') {
      const cached = row.inputPeaks ? decodePeaks(row.inputPeaks) : null;
      if (cached) return toContractPeaks(cached, buckets);
    }
    const stemRow = stem === 'mix' ? null : store.stemRows(id).find((s) => s.name === stem);
    if (stem !== 'mix') {
      if (!stemRow && row.status === 'running') {
        // Progressive: the peaks of what is separated so far (the ready prefix).
        const p = await partialPeaks(deps.liveJob ? deps.liveJob(id) : store.get(id), stem, buckets);
        return p ?? { durationSec: 0, peaks: [] };
      }
      if (!stemRow) throw new CoreError('NOT_FOUND', `Job ${row.name} has no stem named ${stem}.`);
      const cached = stemRow.peaks ? decodePeaks(stemRow.peaks) : null;
      if (cached) return toContractPeaks(cached, buckets);
    }
    const file = stem === 'mix' ? row.inputPath : stemRow!.path;
    const key = `${id}\0${stem}`;
    let p = peakJobs.get(key);
    if (!p) {
      p = thread.peaks(file).finally(() => peakJobs.delete(key));
      peakJobs.set(key, p);
    }
    let computed: CachedPeaks;
    try {
      computed = await p;
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (err.code === 'INPUT_NOT_FOUND') throw new CoreError('NOT_FOUND', `The file for ${stem} is gone: ${file}`);
      throw new CoreError('INTERNAL', err.message ?? String(e));
    }
    const blob = encodePeaks(computed);
    if (stem === 'mix') db.update(jobsTable).set({ inputPeaks: blob }).where(eq(jobsTable.id, id)).run();
    else db.update(stemsTable).set({ peaks: blob }).where(and(eq(stemsTable.jobId, id), eq(stemsTable.name, stem))).run();
    return toContractPeaks(computed, buckets);
  };

  const exportMixdown = async (req: ParsedRequestOf<'mixdown:export'>): Promise<ResponseOf<'mixdown:export'>> => {
    const job = store.get(req.id);
    if (job.status !== 'done') throw new CoreError('CONFLICT', `Job ${job.name} is ${job.status}; mixdowns need a finished job.`);
    const inputs = req.stems.map((name) => {
      const s = job.stems.find((x) => x.name === name);
      if (!s) throw new CoreError('NOT_FOUND', `Job ${job.name} has no stem named ${name}.`);
      if (!fs.existsSync(s.path)) throw new CoreError('NOT_FOUND', `The ${name} stem file is gone: ${s.path}`);
      return { path: s.path, gain: req.gains?.[name] ?? 1 };
    });
    const practice = req.tempo !== undefined || req.pitch !== undefined ? { tempoPct: req.tempo ?? 100, semitones: req.pitch ?? 0 } : undefined;
    const fileName = mixdownFileName(req.stems, req.format, practice);
    const outDir = job.outputDir ?? path.dirname(job.stems[0].path);
    let res: { path: string; durationSec: number };
    try {
      res = await thread.mixdown({ inputs, outDir, fileName, format: req.format, bits: req.bits, clipMode: job.options.clipMode, practice });
    } catch (e) {
      throw mixdownError(e, outDir);
    }
    db.transaction((tx) => {
      tx.delete(stemsTable).where(and(eq(stemsTable.jobId, job.id), eq(stemsTable.name, fileName))).run();
      tx.insert(stemsTable).values({ jobId: job.id, name: fileName, kind: 'mixdown', path: res.path, format: req.format, durationSec: res.durationSec }).run();
    });
    return { path: res.path, durationSec: res.durationSec, name: fileName };
  };

  const mediaPath = (jobId: string, stem: string): string | null => {
    const row = store.row(jobId);
    if (!row) return null;
    if (stem === 'mix') return row.inputPath;
    const rows = store.stemRows(jobId);
    const hit = rows.find((s) => s.name === stem) ?? rows.find((s) => s.kind === 'mixdown' && path.basename(s.path) === stem);
    return hit ? hit.path : null;
  };

  const owned = (p: string): boolean => store.ownsPath(p);
  const ownsPath = async (p: string): Promise<boolean> => {
    if (!path.isAbsolute(p)) return false;
    const candidates = new Set([path.resolve(p)]);
    try {
      candidates.add(await fs.promises.realpath(p));
    } catch {
      // gone: the resolved path alone decides (the host then says it does not exist)
    }
    for (const c of candidates) if (owned(c) || owned(c.replace(/[/\\]+$/, ''))) return true;
    return false;
  };

  return { peaks, exportMixdown, mediaPath, ownsPath, close: () => thread.close() };
}
