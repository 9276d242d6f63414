/**
 * The jobs service: enqueueing files and folders, the per-job preparation the queue runs before
 * the engine (input checks, content hash, cache, output folder), and cancel/retry/remove/reorder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { JobOptions, type Batch, type Job, type Settings } from '../preload/contract.ts';
import { probeAudio } from '../engine/decode.ts';
import { toErrorInfo } from '../engine/errors.ts';
import { listModels } from '../models/registry.ts';
import { CoreError } from './core-error.ts';
import { jobOutputDir, sanitizeSegment, trackName } from './paths.ts';
import { disguisedAs, isAudioFile, audioExtensions, readHead, scanFolder, type FoundFile } from './scan.ts';
import { newId } from './store/ids.ts';
import { optionsKey, type JobStore } from './store/job-store.ts';
import { INSERT_CHUNK, YIELD_EVERY, yieldToLoop } from './yield.ts';
import type { QueueBackend } from './queue/backend.ts';
import type { EnqueueBatch, EnqueueJob, JobQueue } from './queue/queue.ts';
import { removePartials, type PrepareResult } from './queue/pool.ts';

/** Job options as accepted by the core: the contract's options plus an output root override. */
export type AddOptions = Partial<JobOptions> & {
  /** Output root for these jobs (stems go to `<outputDir>/<model>/…`); default: settings.outputDir. */
  outputDir?: string;
  /** Quick excerpt: separate only this span (seconds) of each file, into `<track> [start-end]`. */
  excerpt?: { startSec: number; endSec: number };
  /** Queue priority (higher runs first); a preview jumps the queue. */
  priority?: number;
  /** The inputs were uploaded through the bridge: their originals are deleted with their jobs. */
  uploaded?: boolean;
};

/** The cache/skip key of a job: its output-changing options, and its excerpt span if any. */
export function jobKey(job: { options: JobOptions; excerpt?: { startSec: number; endSec: number } | null }): string {
  return excerptKey(optionsKey(job.options), job.excerpt ?? null);
}
function excerptKey(key: string, e: { startSec: number; endSec: number } | null): string {
  return e ? `${key}|excerpt:${e.startSec}-${e.endSec}` : key;
}

/** `60-90`, `75.5-100`: an excerpt span in seconds (folder names: no `:`, which Windows forbids). */
export function spanLabel(e: { startSec: number; endSec: number }): string {
  const f = (s: number) => String(Math.round(s * 1000) / 1000);
  return `${f(e.startSec)}-${f(e.endSec)}`;
}

/** Parses `60-90`, `1:00-1:30`, `75.5-1:40` (seconds or m:ss, both ends); null if malformed. */
export function parseSpan(text: string): { startSec: number; endSec: number } | null {
  const m = /^\s*(\d+(?::\d{1,2})?(?:\.\d+)?)\s*-\s*(\d+(?::\d{1,2})?(?:\.\d+)?)\s*$/.exec(text);
  if (!m) return null;
  const sec = (t: string) => {
    const [a, b] = t.split(':');
    if (b === undefined) return Number(a);
    const s = Number(b);
    return s >= 60 ? NaN : Number(a) * 60 + s;
  };
  const startSec = sec(m[1]);
  const endSec = sec(m[2]);
  return Number.isFinite(startSec) && Number.isFinite(endSec) ? { startSec, endSec } : null;
}

/** One line for a span that cannot be separated (end before start, zero length), or null. */
export function spanProblem(e: { startSec: number; endSec: number }, durationSec: number | null): string | null {
  const label = spanLabel(e);
  if (e.endSec < e.startSec) return `Excerpt ${label}: the end is before the start; write START-END, e.g. 60-90 or 1:00-1:30.`;
  if (Math.round(e.endSec * 44100) <= Math.round(e.startSec * 44100)) return `Excerpt ${label}: the span is empty (zero length); choose an end after the start.`;
  if (durationSec != null && e.endSec > durationSec + 1e-3) return `Excerpt ${label}: the song is only ${Math.floor(durationSec * 100) / 100} s long; choose a span that ends by then.`;
  return null;
}

/**
 * A short folder label for a job's output options (the model has a folder of its own): the format
 * always, then what differs from the defaults, e.g. `mp3`, `wav 24-bit`, `wav, vocals + no_vocals`,
 * `flac, clamped, 2 shifts`.
 */
export function optionsLabel(o: JobOptions): string {
  let format: string = o.format;
  // Bit depth applies to wav and flac only; 32 is float in wav and 24-bit in flac.
  if (o.format !== 'mp3' && o.bits !== 16) format += o.format === 'wav' && o.bits === 32 ? ' 32-bit float' : ' 24-bit';
  const parts = [format];
  if (o.twoStems) parts.push(`${o.twoStems} + no_${o.twoStems}`);
  if (o.clipMode !== 'rescale') parts.push('clamped');
  if (o.shifts > 0) parts.push(`${o.shifts} shift${o.shifts === 1 ? '' : 's'}`);
  return sanitizeSegment(parts.join(', '));
}

export const SKIPPED_PREFIX = 'Already separated';
const HASH_SPAN = 1024 * 1024;
const HASH_PIECE = 256 * 1024;

/** sha256 over the size and the first and last MiB of a file (independent of mtime and name). */
export async function contentHash(file: string): Promise<string> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const { size } = await fh.stat();
    const h = createHash('sha256');
    h.update(`demix-v1:${size}:`);
    // Read and hash in 256 KiB pieces: each read is I/O, so the event loop runs between them.
    const buf = Buffer.alloc(HASH_PIECE);
    const span = async (start: number, length: number) => {
      for (let off = 0; off < length; off += HASH_PIECE) {
        const n = Math.min(HASH_PIECE, length - off);
        const { bytesRead } = await fh.read(buf, 0, n, start + off);
        h.update(bytesRead === n ? buf.subarray(0, n) : Buffer.concat([buf.subarray(0, bytesRead), Buffer.alloc(n - bytesRead)]));
      }
    };
    await span(0, Math.min(HASH_SPAN, size));
    if (size > HASH_SPAN) {
      const tailLen = Math.min(HASH_SPAN, size - HASH_SPAN);
      await span(size - tailLen, tailLen);
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

/** Maps a file-system error on the output folder to the job error a user can act on. */
export function outputError(e: unknown, dir: string): { code: string; message: string } {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOTDIR' || code === 'EEXIST') {
    return { code: 'OUTPUT_UNWRITABLE', message: `Cannot create the output folder ${dir}: part of that path is a file, not a folder; choose another output folder, then retry.` };
  }
  if (code === 'ENOENT') {
    return {
      code: 'OUTPUT_UNWRITABLE',
      message: `Cannot create the output folder ${dir}: that location does not accept new folders (or its drive was disconnected); choose another output folder, then retry.`,
    };
  }
  const info = toErrorInfo(e, { outputDir: dir });
  if (info.code === 'INTERNAL') return { code: 'OUTPUT_UNWRITABLE', message: `Cannot write to the output folder ${dir} (${(e as Error).message}); choose another output folder, then retry.` };
  return info;
}

/**
 * `mkdir -p` without Node's `{ recursive: true }`, which never returns for some paths (e.g. under
 * /proc on Linux with Node 20): walks up to the nearest existing folder, then creates each level.
 */
export function makeDirs(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is a file`), { code: 'ENOTDIR', path: dir });
      return;
    }
    if (code !== 'ENOENT') throw e;
    const parent = path.dirname(dir);
    if (parent === dir) throw e;
    makeDirs(parent);
    try {
      fs.mkdirSync(dir);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
    }
  }
}

/** Checks (and creates) an output root up front, so a bad `-o` gives one line instead of N failed jobs. */
export function checkOutputRoot(root: string): { code: string; message: string } | null {
  try {
    makeDirs(root);
    const probe = path.join(root, `.demix-write-test-${process.pid}-${Date.now()}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe, { force: true });
    return null;
  } catch (e) {
    return outputError(e, root);
  }
}

interface Candidate {
  file: FoundFile;
  batchId: string | null;
}

export class JobsService {
  constructor(
    private readonly store: JobStore,
    /** Every queue operation goes through the queue (embedded or Redis). */
    private readonly queue: () => JobQueue,
    private readonly settings: () => Settings,
  ) {}

  resolveOptions(opts: AddOptions = {}): { options: JobOptions; outputRoot: string } {
    const s = this.settings();
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { outputDir, uploaded, ...rest } = opts;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    const parsed = JobOptions.safeParse({
      modelId: s.modelId,
      format: s.format,
      bits: s.bits,
      clipMode: s.clipMode,
      twoStems: s.twoStems,
      shifts: s.shifts,
      device: s.device,
      ...defined,
    });
    if (!parsed.success) throw new CoreError('BAD_REQUEST', `Invalid job options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { twoStems, modelId } = parsed.data;
    if (twoStems) {
      // Checked here, for every front door, rather than per job by the engine (N failed jobs for one typo).
      const model = listModels().find((m) => m.id === modelId);
      if (model && !model.stems.includes(twoStems)) {
        throw new CoreError('BAD_REQUEST', `Two-stem mode "${twoStems}" is not a stem of model ${modelId}: use one of ${model.stems.join(', ')}.`);
      }
    }
    return { options: parsed.data, outputRoot: path.resolve(outputDir ?? s.outputDir) };
  }

  async addPaths(paths: string[], opts?: AddOptions) {
    const { options, outputRoot } = this.resolveOptions(opts);
    const exts = audioExtensions();
    const rejected: { path: string; reason: string }[] = [];
    const loose: Candidate[] = [];
    const folders: { root: string; files: FoundFile[] }[] = [];
    const seen = new Set<string>();
    let n = 0;
    for (const raw of paths) {
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
      const p = path.resolve(raw);
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        rejected.push({ path: p, reason: code === 'EACCES' || code === 'EPERM' ? 'Cannot be read (permission denied): check its permissions.' : 'No such file or folder: check the path.' });
        continue;
      }
      if (st.isDirectory()) {
        const { files, skipped } = await scanFolder(p);
        if (!files.length) {
          rejected.push({ path: p, reason: `No audio files found in this folder${skipped ? ` (${skipped} other file${skipped === 1 ? '' : 's'} skipped)` : ''}.` });
          continue;
        }
        const fresh = files.filter((f) => !seen.has(f.path) && (seen.add(f.path), true));
        // The same folder (or one inside a folder already given) adds no second, empty batch.
        if (fresh.length) folders.push({ root: p, files: fresh });
        continue;
      }
      if (!st.isFile()) {
        rejected.push({ path: p, reason: 'Not a regular file (a pipe, socket or device): choose an audio file.' });
        continue;
      }
      if (seen.has(p)) continue;
      seen.add(p);
      if (st.size === 0) {
        rejected.push({ path: p, reason: 'The file is empty (0 bytes): it is damaged or was not copied completely; use another copy.' });
        continue;
      }
      if (!isAudioFile(p, exts)) {
        rejected.push({ path: p, reason: 'Not an audio file (by its name and content): choose an mp3, wav, flac, m4a, ogg, opus or aiff file.' });
        continue;
      }
      // Named like audio, but the content says otherwise (a renamed text file, an image…): say so now, not at decode.
      const really = disguisedAs(readHead(p));
      if (really) {
        rejected.push({ path: p, reason: `Named like audio but holds ${really}, not sound: choose the real audio file.` });
        continue;
      }
      loose.push({ file: { path: p, relativePath: path.basename(p), size: st.size, mtimeMs: st.mtimeMs }, batchId: null });
    }

    const jobs: Job[] = [];
    const batches: Batch[] = [];
    const now = Date.now();
    const excerpt = opts?.excerpt ?? null;
    if (excerpt) {
      // An excerpt is of one song: folders are refused, every file's span is checked up front.
      for (const f of folders) rejected.push({ path: f.root, reason: 'An excerpt is taken from a song file, not a folder: give the file itself.' });
      folders.length = 0;
      const ok: Candidate[] = [];
      for (const c of loose) {
        let dur: number | null;
        try {
          dur = (await probeAudio(c.file.path)).durationSec;
        } catch {
          dur = null; // the engine reports unreadable input precisely
        }
        const problem = spanProblem(excerpt, dur);
        if (problem) rejected.push({ path: c.file.path, reason: problem });
        else ok.push(c);
      }
      loose.splice(0, loose.length, ...ok);
    }
    const key = excerptKey(optionsKey(options), excerpt);
    const usedDirs = new Set<string>();
    const existingIds: string[] = [];
    // Uploaded files: hashed now, so a re-upload of the same song shares the first upload's
    // output folder (and is answered from the cache) instead of getting a "song (flac)" twin.
    const hashes = new Map<string, string>();
    if (opts?.uploaded) {
      for (const f of [...loose.map((c) => c.file), ...folders.flatMap((x) => x.files)]) {
        try {
          hashes.set(f.path, await contentHash(f.path));
        } catch {
          // unreadable: prepare() reports it
        }
      }
    }

    const build = (c: Candidate, relative: string | null): EnqueueJob | null => {
      const f = c.file;
      // Two inputs with the same track name (song.mp3 + song.wav, a/song.flac + b/song.flac): each
      // gets its own folder, never one another job (of this call or an earlier one) writes into.
      const hash = hashes.get(f.path) ?? null;
      const base = jobOutputDir(outputRoot, options.modelId, f.path, relative);
      const outDir = this.uniqueOutputDir(excerpt ? `${base} [${spanLabel(excerpt)}]` : base, f.path, usedDirs, hash, options);
      if (this.store.alreadySeparated(f.path, f.size, f.mtimeMs, key, outDir)) {
        rejected.push({ path: f.path, reason: `${SKIPPED_PREFIX} with these settings: ${outDir}` });
        return null;
      }
      const existing = this.store.activeDuplicate(f.path, key, outDir);
      if (existing) {
        // Already queued or running with these settings (e.g. re-running a command after a crash): the same job.
        existingIds.push(existing);
        usedDirs.add(outDir);
        return null;
      }
      usedDirs.add(outDir);
      return {
        id: newId('j'),
        name: path.basename(f.path),
        inputPath: f.path,
        inputSize: f.size,
        inputMtimeMs: Math.round(f.mtimeMs),
        options,
        createdAt: now,
        outputRoot,
        outputDir: outDir,
        batchId: c.batchId,
        relativePath: relative,
        priority: opts?.priority ?? 0,
        excerpt,
        ...(opts?.uploaded ? { uploaded: true, inputHash: hash } : {}),
      };
    };

    // Per-file checks and inserts yield to the event loop regularly, and inserts go in
    // transactions of at most INSERT_CHUNK rows: a 2,000-file folder never freezes the core.
    const buildAll = async (cands: Candidate[], relative: (c: Candidate) => string | null): Promise<EnqueueJob[]> => {
      const rows: EnqueueJob[] = [];
      for (let i = 0; i < cands.length; i++) {
        if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
        const r = build(cands[i], relative(cands[i]));
        if (r) rows.push(r);
      }
      return rows;
    };
    const enqueueChunked = async (batch: EnqueueBatch | null, rows: EnqueueJob[]) => {
      let first = true;
      for (let i = 0; i < rows.length || (first && batch); i += INSERT_CHUNK) {
        if (!first) await yieldToLoop();
        const res = this.queue().enqueue(first ? batch : null, rows.slice(i, i + INSERT_CHUNK));
        first = false;
        jobs.push(...res.jobs);
        if (res.batch) batches.push(res.batch);
      }
    };
    for (const folder of folders) {
      const batchId = newId('b');
      const before = rejected.length;
      const rows = await buildAll(folder.files.map((f) => ({ file: f, batchId })), (c) => c.file.relativePath);
      const skipped = rejected.length - before;
      await enqueueChunked({ id: batchId, sourceFolder: folder.root, outputDir: outputRoot, total: rows.length + skipped, skipped, createdAt: now }, rows);
    }
    const looseRows = await buildAll(loose, () => null);
    if (looseRows.length) await enqueueChunked(null, looseRows);
    if (existingIds.length) jobs.push(...this.store.getMany(existingIds));
    return { jobs, batches, rejected };
  }

  /**
   * The first folder no other job's work is in, neither earlier in this call (`used`) nor in any
   * job on record: `base`; when another input uses it, `<track> (<ext>)`, `<track> (<ext> 2)`, … ;
   * and when the same input is there with other output options, that folder plus the options,
   * `<track> [mp3]`, `<track> [wav 24-bit]`, then `<track> [mp3 2]`, … The same input with the same
   * options finds its earlier folder again (skipped when done, the same job when queued).
   */
  private uniqueOutputDir(base: string, inputPath: string, used: Set<string>, inputHash: string | null, options: JobOptions): string {
    const key = optionsKey(options);
    const takenBy = (d: string) => (used.has(d) ? 'input' : this.store.outputDirTakenBy(d, inputPath, inputHash, key));
    // `d` or its options variant; null when another input owns `d`.
    const forThisInput = (d: string): string | null => {
      const by = takenBy(d);
      if (by === 'input') return null;
      if (!by) return d;
      const label = optionsLabel(options);
      for (let n = 1; ; n++) {
        const v = `${d} [${n === 1 ? label : `${label} ${n}`}]`;
        if (!takenBy(v)) return v;
      }
    };
    const first = forThisInput(base);
    if (first) return first;
    const ext = path.extname(inputPath).slice(1) || 'audio';
    const stem = `${trackName(inputPath)} (${ext}`;
    for (let n = 1; ; n++) {
      const d = forThisInput(path.join(path.dirname(base), n === 1 ? `${stem})` : `${stem} ${n})`));
      if (d) return d;
    }
  }

  /**
   * "Preview 30 s": an excerpt of a job's song as a job of its own, ahead of everything queued.
   * Default span: 30 s starting a third into the song (the whole song when it is shorter).
   */
  async preview(id: string, startSec?: number, endSec?: number): Promise<Job> {
    const src = this.store.get(id);
    if (src.excerpt) throw new CoreError('CONFLICT', `${src.name} is already an excerpt; preview the whole song's job instead.`);
    let span: { startSec: number; endSec: number };
    if (startSec !== undefined && endSec !== undefined) span = { startSec, endSec };
    else {
      let dur: number | null = src.durationSec;
      if (dur == null) {
        try {
          dur = (await probeAudio(src.inputPath)).durationSec;
        } catch (e) {
          throw new CoreError('BAD_REQUEST', `${src.name}: ${(e as Error).message}`);
        }
      }
      if (!dur) throw new CoreError('BAD_REQUEST', `${src.name}: its length is unknown, so no preview span can be chosen; separate the whole song.`);
      const start = startSec ?? Math.min(Math.floor(dur / 3), Math.max(0, Math.floor(dur - 30)));
      span = { startSec: start, endSec: endSec ?? Math.min(start + 30, Math.floor(dur * 1000) / 1000) };
    }
    const row = this.store.row(id);
    const top = Math.max(0, ...this.store.queuedOrder().map((j) => j.priority));
    const res = await this.addPaths([src.inputPath], { ...src.options, outputDir: row?.outputRoot ?? undefined, excerpt: span, priority: top + 1 });
    if (res.jobs[0]) return res.jobs[0];
    const why = res.rejected[0]?.reason ?? 'it could not be queued';
    throw new CoreError(why.startsWith(SKIPPED_PREFIX) ? 'CONFLICT' : 'BAD_REQUEST', `Preview of ${src.name}: ${why}`);
  }

  async addFolder(folder: string, opts?: AddOptions) {
    const p = path.resolve(folder);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      return { batch: null, jobs: [], rejected: [{ path: p, reason: 'No such folder: check the path.' }] };
    }
    if (!st.isDirectory()) return { batch: null, jobs: [], rejected: [{ path: p, reason: 'Not a folder.' }] };
    const res = await this.addPaths([p], opts);
    return { batch: res.batches[0] ?? null, jobs: res.jobs, rejected: res.rejected };
  }

  /**
   * Runs before the engine: the input must still be there; the content hash may find a finished
   * identical job (cache: its stems are linked or copied); the output folder must be creatable.
   */
  async prepare(job: Job, run: Pick<QueueBackend, 'fail' | 'complete'>): Promise<PrepareResult> {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(job.inputPath);
    } catch {
      run.fail(job.id, { code: 'INPUT_NOT_FOUND', message: `${job.inputPath} is gone (moved or deleted after it was added): put it back or add it again.` });
      return { run: false };
    }
    if (!st.isFile()) {
      run.fail(job.id, { code: 'INPUT_IS_FOLDER', message: `${job.inputPath} is not a file.` });
      return { run: false };
    }
    if (st.size === 0) {
      run.fail(job.id, { code: 'INPUT_EMPTY', message: `${job.name} is empty (0 bytes): the file is damaged or was not copied completely; use another copy.` });
      return { run: false };
    }
    const outDir = job.outputDir!;
    let hash: string | null = null;
    try {
      hash = await contentHash(job.inputPath);
      this.store.setInputHash(job.id, hash);
    } catch {
      // Unreadable now: let the engine report it precisely.
    }
    try {
      makeDirs(outDir);
    } catch (e) {
      run.fail(job.id, outputError(e, outDir));
      return { run: false };
    }
    if (hash) {
      const hit = this.store.findCacheHit(hash, jobKey(job), job.id);
      if (hit) {
        try {
          const stems = await materializeStems(hit, outDir);
          run.complete(job.id, {
            stems,
            durationSec: hit.durationSec ?? stems[0]?.durationSec ?? 0,
            provider: 'cache',
            // same audio, same stems: the same tempo and key
            analysis: hit.bpm != null || hit.key != null ? { bpm: hit.bpm ?? null, key: hit.key ?? null, keyConfidence: hit.keyConfidence ?? null, beats: hit.beats ?? [], downbeat: hit.downbeat ?? null } : null,
          });
          return { run: false };
        } catch (e) {
          // Could not reuse (e.g. cross-device copy failed for space): fall back to separating.
          const info = outputError(e, outDir);
          if (info.code === 'DISK_FULL') {
            run.fail(job.id, info);
            return { run: false };
          }
        }
      }
    }
    removePartials(outDir);
    return { run: true };
  }

  /**
   * Redis jobs, on the submitter before they are sent: the same content hash and cache as
   * `prepare` uses for local jobs. A finished identical job (separated here or by any worker) has
   * its stems linked or copied into this job's folder and the job completes without a remote run.
   * Returns 'cached' (completed from the cache), 'gone' (no longer queued: send nothing) or 'send'.
   */
  async completeFromCache(id: string): Promise<'cached' | 'gone' | 'send'> {
    const row = this.store.row(id);
    if (!row || row.status !== 'queued') return 'gone';
    const job = this.store.get(id);
    // Known already (an upload, or a job sent again after Redis lost it): not read twice.
    let hash = row.inputHash;
    if (!hash) {
      try {
        hash = await contentHash(job.inputPath);
      } catch {
        return 'send'; // unreadable here: the worker reports it with its host
      }
      if (!this.store.row(id)) return 'gone';
      this.store.setInputHash(id, hash);
    }
    const hit = this.store.findCacheHit(hash, jobKey(job), id);
    if (!hit) return 'send';
    const outDir = job.outputDir!;
    let stems: Job['stems'];
    try {
      makeDirs(outDir);
      stems = await materializeStems(hit, outDir);
    } catch {
      return 'send'; // could not reuse (space, permissions here): a worker separates it
    }
    // Canceled or removed while the stems were linked: take back what was linked for it.
    const running = this.store.transition(id, ['queued'], 'running', { startedAt: Date.now(), attempts: row.attempts + 1 });
    if (!running) {
      for (const s of stems) if (!hit.stems.some((h) => path.resolve(h.path) === path.resolve(s.path))) fs.rmSync(s.path, { force: true });
      return 'gone';
    }
    this.store.complete(id, {
      stems,
      durationSec: hit.durationSec ?? stems[0]?.durationSec ?? 0,
      provider: 'cache',
      analysis: hit.bpm != null || hit.key != null ? { bpm: hit.bpm ?? null, key: hit.key ?? null, keyConfidence: hit.keyConfidence ?? null, beats: hit.beats ?? [], downbeat: hit.downbeat ?? null } : null,
    });
    return 'cached';
  }

  cancel(id: string): Job {
    const job = this.store.get(id);
    if (job.status !== 'queued' && job.status !== 'running') {
      throw new CoreError('CONFLICT', `Job ${job.name} is ${job.status}; only queued or running jobs can be canceled.`);
    }
    const updated = this.queue().cancel(id);
    if (!updated) return this.cancelRaced(id);
    return updated;
  }

  private cancelRaced(id: string): Job {
    const now = this.store.get(id);
    throw new CoreError('CONFLICT', `Job ${now.name} is ${now.status}; only queued or running jobs can be canceled.`);
  }

  retry(id: string): Job {
    const job = this.store.get(id);
    if (job.status !== 'failed' && job.status !== 'canceled') {
      throw new CoreError('CONFLICT', `Job ${job.name} is ${job.status}; only failed or canceled jobs can be retried.`);
    }
    const updated = this.queue().retry(id);
    if (!updated) throw new CoreError('CONFLICT', `Job ${job.name} changed state meanwhile; try again.`);
    return updated;
  }

  /**
   * Removes a job. A queued or running one is canceled first, and its run is waited for, so
   * nothing it writes afterwards is left behind without a record; then the record goes (and its
   * files when asked).
   */
  async remove(id: string, deleteFiles: boolean): Promise<void> {
    const job = this.store.get(id);
    if (job.status === 'running' || job.status === 'queued') await this.queue().forget(id);
    if (!this.store.row(id)) return; // removed meanwhile by someone else
    this.removeRecord(id, deleteFiles);
  }

  /** Deletes a finished job's record now (and its files when asked). */
  removeRecord(id: string, deleteFiles: boolean): void {
    const job = this.store.get(id);
    // A stem file another job also lists (a cache hit in the same folder) stays.
    const files = deleteFiles ? this.store.stemRows(id).map((s) => s.path).filter((p) => !this.store.stemPathShared(p, id)) : [];
    this.store.delete(id);
    if (deleteFiles) {
      for (const f of files) fs.rmSync(f, { force: true });
      removePartials(job.outputDir);
      if (job.outputDir) {
        try {
          fs.rmdirSync(job.outputDir); // only when empty
        } catch {
          // not empty or gone: leave it
        }
      }
    }
  }
}

/** Links (or copies) a cached job's stems into `outDir` atomically; returns the new stem list. */
async function materializeStems(hit: Job, outDir: string): Promise<Job['stems']> {
  if (path.resolve(hit.outputDir ?? '') === path.resolve(outDir)) return hit.stems;
  const out: Job['stems'] = [];
  for (const s of hit.stems) {
    const target = path.join(outDir, path.basename(s.path));
    const tmp = `${target}.${process.pid}.partial`;
    await fs.promises.rm(tmp, { force: true });
    try {
      await fs.promises.link(s.path, tmp);
    } catch {
      await fs.promises.copyFile(s.path, tmp);
    }
    await fs.promises.rename(tmp, target);
    out.push({ ...s, path: target });
  }
  return out;
}
