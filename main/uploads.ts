/**
 * Browser uploads (`demix serve`): where they live, how their names are made safe, how a request
 * body is streamed to disk, and how uploaded originals are cleaned up.
 *
 *   <dataDir>/uploads/<uploadId>/<relative path>     one dropped file, or one dropped folder's tree
 *   <dataDir>/uploads/.partial/<uploadId>-<random>   bytes still arriving (never seen by a scan)
 *
 * A body is written to a `.partial` file and linked into place only when it is complete, within
 * the size limit and audio (by name, else by its first bytes, as path-added files are judged);
 * anything else — the client going away included — removes the partial file.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeDirs } from './jobs.ts';
import { sanitizeSegment } from './paths.ts';
import { audioExtensions, isKnownNonAudioName, sniffAudio } from './scan.ts';

export const UPLOADS_DIR = 'uploads';
const PARTIAL_DIR = '.partial';
export const UPLOAD_ID = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_DEPTH = 32;
const MAX_PATH_CHARS = 1024;
export const NOT_AUDIO_REASON = 'Not an audio file (by its name and content): choose an mp3, wav, flac, m4a, ogg, opus or aiff file.';

export function uploadsRoot(dataDir: string): string {
  return path.join(path.resolve(dataDir), UPLOADS_DIR);
}

/** Thrown by the upload functions; `status` is the HTTP status the bridge answers with. */
export class UploadError extends Error {
  constructor(
    readonly status: number,
    readonly code: 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'INTERNAL',
    message: string,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

/**
 * A client-supplied relative path made safe: `/` or `\` separated, no empty, `.` or `..`
 * segments, not absolute (no leading slash, no drive letter, no UNC), no NUL or control
 * characters; each segment is then made portable (reserved characters → `_`, no trailing dots,
 * no leading dot so a folder scan does not take it for a hidden file). Throws UploadError 400.
 */
export function safeRelativePath(raw: string): string[] {
  const bad = (why: string) => new UploadError(400, 'BAD_REQUEST', `Refused the file name ${JSON.stringify(raw.slice(0, 120))}: ${why}`);
  if (typeof raw !== 'string' || raw.length === 0) throw bad('it is empty.');
  if (raw.length > MAX_PATH_CHARS) throw bad(`it is longer than ${MAX_PATH_CHARS} characters.`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw bad('it contains control characters.');
  if (/^[\\/]/.test(raw) || /^[A-Za-z]:/.test(raw)) throw bad('absolute paths are not accepted; send the name (or the path inside the dropped folder).');
  const parts = raw.split(/[\\/]/);
  if (parts.some((p) => p === '..')) throw bad('".." is not allowed in an upload path.');
  if (parts.some((p) => p === '' || p === '.')) throw bad('it has empty or "." segments.');
  if (parts.length > MAX_DEPTH) throw bad(`it is nested deeper than ${MAX_DEPTH} folders.`);
  return parts.map((p) => {
    const s = sanitizeSegment(p);
    return s.startsWith('.') ? `_${s.slice(1)}` : s;
  });
}

export interface ReceiveOptions {
  dataDir: string;
  uploadId: string;
  /** Client-supplied relative path (file name, or path inside a dropped folder). */
  relativePath: string;
  /** Per-file limit in bytes. */
  maxBytes: number;
}

export interface Received {
  uploadId: string;
  /** Safe relative path, `/`-separated. */
  path: string;
  /** Absolute path on disk. */
  file: string;
  size: number;
}

/** Checks made before any byte of the body is read (so a refusal costs nothing). */
export function precheckUpload(req: Pick<IncomingMessage, 'headers'>, opts: ReceiveOptions): { parts: string[]; final: string } {
  if (!UPLOAD_ID.test(opts.uploadId)) throw new UploadError(400, 'BAD_REQUEST', 'The upload id must be 8-64 characters of letters, digits, "-" or "_".');
  const parts = safeRelativePath(opts.relativePath);
  const name = parts[parts.length - 1];
  if (isKnownNonAudioName(name)) throw new UploadError(415, 'BAD_REQUEST', `${name}: ${NOT_AUDIO_REASON}`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) throw tooLarge(name, opts.maxBytes);
  const final = path.join(uploadsRoot(opts.dataDir), opts.uploadId, ...parts);
  if (fs.existsSync(final)) throw new UploadError(409, 'CONFLICT', `${parts.join('/')} was already uploaded in this upload.`);
  return { parts, final };
}

function tooLarge(name: string, max: number): UploadError {
  return new UploadError(413, 'BAD_REQUEST', `${name} is larger than the upload limit of ${formatBytes(max)}: raise "Largest upload" in Settings (maxUploadBytes), or run \`demix separate\` on the file.`);
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** Counts bytes (failing past the limit) and judges the first bytes when the name does not say "audio". */
class Gate extends Transform {
  size = 0;
  private head: Buffer[] = [];
  private headLen = 0;
  private judged: boolean;

  constructor(
    private readonly max: number,
    private readonly name: string,
    nameSaysAudio: boolean,
  ) {
    super();
    this.judged = nameSaysAudio;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.max) return cb(tooLarge(this.name, this.max));
    if (!this.judged) {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen >= 16) {
        const err = this.judge();
        if (err) return cb(err);
      }
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.size === 0) return cb(new UploadError(400, 'BAD_REQUEST', `${this.name} is empty (0 bytes): it is damaged or was not read completely; use another copy.`));
    cb(this.judged ? null : this.judge());
  }

  private judge(): UploadError | null {
    this.judged = true;
    const head = Buffer.concat(this.head).subarray(0, 16);
    this.head = [];
    return sniffAudio(head) ? null : new UploadError(415, 'BAD_REQUEST', `${this.name}: ${NOT_AUDIO_REASON}`);
  }
}

/**
 * Streams a request body to `<uploads>/<uploadId>/<safe path>` (never holding more than a
 * stream buffer in memory). Throws UploadError (400/409/413/415/507) or the stream error of a
 * client that went away; in every failure case nothing is left on disk.
 */
export async function receiveUpload(req: IncomingMessage, opts: ReceiveOptions, pre = precheckUpload(req, opts)): Promise<Received> {
  const { parts, final } = pre;
  const name = parts[parts.length - 1];
  const partialDir = path.join(uploadsRoot(opts.dataDir), PARTIAL_DIR);
  makeDirs(partialDir);
  const tmp = path.join(partialDir, `${opts.uploadId}-${randomBytes(6).toString('hex')}.partial`);
  const gate = new Gate(opts.maxBytes, name, audioExtensions().has(path.extname(name).toLowerCase()));
  try {
    await pipeline(req, gate, fs.createWriteStream(tmp, { flags: 'wx' }));
    if (!req.complete) throw new UploadError(400, 'BAD_REQUEST', `The upload of ${name} was interrupted.`);
    makeDirs(path.dirname(final));
    try {
      await fs.promises.link(tmp, final); // never replaces an existing file
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') throw new UploadError(409, 'CONFLICT', `${parts.join('/')} was already uploaded in this upload.`);
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw e;
      if (fs.existsSync(final)) throw new UploadError(409, 'CONFLICT', `${parts.join('/')} was already uploaded in this upload.`);
      await fs.promises.rename(tmp, final);
    }
    return { uploadId: opts.uploadId, path: parts.join('/'), file: final, size: gate.size };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new UploadError(507, 'INTERNAL', `The disk holding Demix's data folder (${opts.dataDir}) is full: free some space, then upload ${name} again.`);
    throw e;
  } finally {
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
  }
}

/** The one top-level entry (file or folder) of an upload, for enqueueing. Throws UploadError 400/404. */
export function uploadEntry(dataDir: string, uploadId: string): string {
  if (!UPLOAD_ID.test(uploadId)) throw new UploadError(400, 'BAD_REQUEST', 'The upload id must be 8-64 characters of letters, digits, "-" or "_".');
  const dir = path.join(uploadsRoot(dataDir), uploadId);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    names = [];
  }
  if (names.length === 0) throw new UploadError(404, 'NOT_FOUND', `No files were uploaded under ${uploadId} (or they were already removed): upload them again.`);
  if (names.length > 1) throw new UploadError(400, 'BAD_REQUEST', `Upload ${uploadId} holds ${names.length} files or folders; send one dropped file or folder per upload id.`);
  return path.join(dir, names[0]);
}

/** True when `file` lies inside `<dataDir>/uploads/<id>/`. */
export function isUploadedPath(dataDir: string, file: string): boolean {
  const rel = path.relative(uploadsRoot(dataDir), path.resolve(file));
  return !!rel && !rel.startsWith('..') && !path.isAbsolute(rel) && rel.split(path.sep).length >= 2 && rel.split(path.sep)[0] !== PARTIAL_DIR;
}

/**
 * Deletes an uploaded original and then its folders up to the upload's own folder, as long as
 * they are empty. Anything outside the uploads area is never touched.
 */
export function removeUploadedFile(dataDir: string, file: string): void {
  if (!isUploadedPath(dataDir, file)) return;
  const root = uploadsRoot(dataDir);
  fs.rmSync(file, { force: true });
  let dir = path.dirname(path.resolve(file));
  while (dir.startsWith(root + path.sep) && dir !== root) {
    try {
      fs.rmdirSync(dir); // only when empty
    } catch {
      break;
    }
    dir = path.dirname(dir);
  }
}

/**
 * Removes uploads that no job refers to (a page closed between uploading and enqueueing, a
 * crash mid-upload) once they are older than `minAgeMs`, so a slow upload in progress is never
 * touched. Returns how many upload folders or partial files were removed.
 */
export function pruneUploads(dataDir: string, inUse: (uploadDir: string) => boolean, minAgeMs = 60 * 60 * 1000, now = Date.now()): number {
  const root = uploadsRoot(dataDir);
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return 0;
  }
  const old = (p: string) => now - newestMtime(p) >= minAgeMs;
  for (const name of names) {
    const p = path.join(root, name);
    if (name === PARTIAL_DIR) {
      for (const f of safeReaddir(p)) {
        const fp = path.join(p, f);
        if (old(fp)) {
          fs.rmSync(fp, { force: true, recursive: true });
          removed++;
        }
      }
      continue;
    }
    if (!UPLOAD_ID.test(name) || !old(p) || inUse(p)) continue;
    fs.rmSync(p, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/** The newest mtime in a tree (a folder upload adds files deep inside it). */
function newestMtime(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return Infinity;
  }
  let t = st.mtimeMs;
  if (st.isDirectory()) for (const n of safeReaddir(p)) t = Math.max(t, newestMtime(path.join(p, n)));
  return t;
}

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
