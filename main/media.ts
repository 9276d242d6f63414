/**
 * The confined media resolver and HTTP Range logic, shared by the Electron protocol
 * (`demix-media://job/<id>/<stem>`, main/electron/protocol.ts) and the web bridge
 * (`GET /media/<id>/<stem>`, main/bridge/server.ts).
 *
 * Only files that belong to a job are served: a stem inside the job's output folder (after
 * resolving symlinks), or the job's own input for stem `mix`. Everything else is "not found".
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ShellCore } from './handlers.ts';

const NAME_RE = /^[^/\\\0]{1,255}$/;

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * Absolute real path of the file a job owns under the name `stem`, or null (→ 404).
 * `jobId` and `stem` are the already-decoded URL segments.
 */
export async function resolveMedia(core: Pick<ShellCore, 'jobs'>, jobId: string, stem: string): Promise<string | null> {
  if (!NAME_RE.test(jobId) || !NAME_RE.test(stem) || stem === '.' || stem === '..' || jobId === '.' || jobId === '..') return null;
  let job;
  try {
    job = core.jobs.get(jobId);
  } catch {
    return null;
  }
  let candidate: string | null;
  try {
    candidate = core.jobs.mediaPath(jobId, stem);
  } catch {
    return null;
  }
  if (!candidate) return null;
  try {
    const real = await realpath(candidate);
    const info = await stat(real);
    if (!info.isFile()) return null;
    if (stem === 'mix') {
      // The original song lives wherever the user keeps it: it must be exactly the job's input.
      return real === (await realpath(job.inputPath)) ? real : null;
    }
    if (!job.outputDir) return null;
    const root = await realpath(job.outputDir);
    return isInside(root, real) ? real : null;
  } catch {
    return null; // missing file, dangling link, unreadable folder
  }
}

const MIME: Record<string, string> = {
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
  '.m4a': 'audio/mp4',
  '.mp4': 'audio/mp4',
  '.aac': 'audio/aac',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.aif': 'audio/aiff',
  '.aiff': 'audio/aiff',
  '.webm': 'audio/webm',
  '.json': 'application/json',
};

export function mediaType(filePath: string): string {
  return MIME[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

export type ByteRange = { start: number; end: number };

/**
 * Parses a `Range` header against a file size.
 * Returns null when the header is absent or not a single byte range we understand (→ serve the
 * whole file, as RFC 9110 allows), 'unsatisfiable' (→ 416), or the inclusive byte range.
 */
export function parseRange(header: string | null | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null; // multiple ranges or another unit: ignore the header
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (end < start) return null; // syntactically invalid: ignore
  return { start, end };
}

export interface MediaResponse {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  /** null for 416 and HEAD-like callers that pass `{ body: false }`. */
  body: Readable | null;
}

/** Builds a 200/206/416 response for a file already resolved by `resolveMedia`. */
export async function serveRange(filePath: string, rangeHeader: string | null | undefined, opts: { body?: boolean } = {}): Promise<MediaResponse> {
  const { size } = await stat(filePath);
  const base = { 'Accept-Ranges': 'bytes', 'Content-Type': mediaType(filePath), 'Cache-Control': 'no-store' };
  const range = parseRange(rangeHeader, size);
  const wantBody = opts.body !== false;
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...base, 'Content-Range': `bytes */${size}`, 'Content-Length': '0' }, body: null };
  }
  if (range === null) {
    return {
      status: 200,
      headers: { ...base, 'Content-Length': String(size) },
      body: wantBody ? createReadStream(filePath) : null,
    };
  }
  return {
    status: 206,
    headers: { ...base, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': String(range.end - range.start + 1) },
    body: wantBody ? createReadStream(filePath, { start: range.start, end: range.end }) : null,
  };
}

/**
 * Splits `/<jobId>/<stem>` (URL path, still percent-encoded) into decoded segments, or null.
 * Decoding happens once, per segment, so `%2e%2e%2f` can never become a path separator.
 */
export function splitMediaPath(urlPath: string): { jobId: string; stem: string } | null {
  const parts = urlPath.replace(/^\/+/, '').split('/');
  if (parts.length !== 2) return null;
  try {
    const [jobId, stem] = parts.map((p) => decodeURIComponent(p));
    return { jobId, stem };
  } catch {
    return null;
  }
}

