/**
 * Progressive and raw-PCM media, behind the same confined resolver as finished stems
 * (main/media.ts):
 *
 * - A running job's stem is served from its `*.partial` data (float32 interleaved stereo, written
 *   by the engine as segments finish), as a float WAV whose header describes exactly the `ready`
 *   prefix (Job.readySamples). Nothing past `ready` is ever read or sent.
 * - `?pcm=f32` asks for raw PCM instead: float32 LE interleaved stereo at the model's rate, byte
 *   ranges over that stream (the Web Audio player fetches chunks of it). Finished wav stems are
 *   converted from their own sample format; other formats (flac, mp3, the original input `mix`)
 *   are decoded by ffmpeg from the asked position on.
 */
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import fsp, { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Job } from '../preload/contract.ts';
import { probeAudio } from '../engine/decode.ts';
import { wavHeader } from '../engine/encode.ts';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';
import type { ShellCore } from './handlers.ts';
import { parseRange, resolveMedia, serveRange, type MediaResponse } from './media.ts';

export const PCM_RATE = 44100;
export const PCM_CHANNELS = 2;
const BPF = 4 * PCM_CHANNELS; // bytes per float32 stereo frame
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Float32 stereo sample data inside a file: frames [0, frames) start at byte `offset`. */
export interface FloatData {
  file: string;
  offset: number;
  frames: number;
}

/**
 * The finalised prefix of a running job's stem, or null (not running, nothing ready, unknown
 * stem, or a file outside the job folder). `ready` comes from the job record.
 */
export async function resolvePartial(job: Job, stem: string): Promise<FloatData | null> {
  if (job.status !== 'running' || !job.outputDir || !NAME_RE.test(stem) || stem === 'mix') return null;
  const ready = job.readySamples ?? 0;
  if (ready <= 0) return null;
  const { format, bits } = job.options;
  // engine/encode.ts: float wav is written straight into `<name>.wav.partial` after a 44-byte
  // header; everything else goes to `<name>.<ext>.raw.partial` as bare float32 first.
  // Each run tags its temp files (`<name>.<ext>[.raw].<tag>.partial`, main/queue/pool.ts runTag) so
  // two runs of one job never share them; take the newest file of this stem (the current run's).
  const direct = format === 'wav' && bits === 32;
  const offset = direct ? 44 : 0;
  try {
    const file = await findPartial(job.outputDir, direct ? `${stem}.${format}.` : `${stem}.${format}.raw.`);
    if (!file) return null;
    const root = await realpath(job.outputDir);
    const real = await realpath(file);
    if (!isInside(root, real)) return null;
    const info = await stat(real);
    if (!info.isFile()) return null;
    const onDisk = Math.floor((info.size - offset) / BPF);
    return { file: real, offset, frames: Math.max(0, Math.min(ready, onDisk)) };
  } catch {
    return null;
  }
}

/** Newest `<prefix>[<tag>.]partial` file in `dir` (prefix such as `drums.wav.`), or null. */
async function findPartial(dir: string, prefix: string): Promise<string | null> {
  let best: { file: string; mtime: number } | null = null;
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const middle = name.slice(prefix.length, -'.partial'.length);
    // untagged (`drums.wav.partial`) or one tag without dots (`drums.wav.1a2b3c4d.partial`)
    if (!(middle === '' || /^[A-Za-z0-9_-]+$/.test(middle))) continue;
    if (prefix.endsWith('.raw.') === false && middle === 'raw') continue;
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => null);
    if (st && st.isFile() && (!best || st.mtimeMs > best.mtime)) best = { file, mtime: st.mtimeMs };
  }
  return best?.file ?? null;
}

/** Reads a WAV file's format and where its sample data starts. */
export function readWavLayout(file: string): { format: number; channels: number; sampleRate: number; bits: number; dataOffset: number; dataBytes: number } | null {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 44 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return null;
    let pos = 12;
    let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
    while (pos + 8 <= n) {
      const id = head.toString('ascii', pos, pos + 4);
      const size = head.readUInt32LE(pos + 4);
      if (id === 'fmt ') {
        let format = head.readUInt16LE(pos + 8);
        if (format === 0xfffe && size >= 40) format = head.readUInt16LE(pos + 8 + 24); // WAVE_FORMAT_EXTENSIBLE
        fmt = { format, channels: head.readUInt16LE(pos + 10), sampleRate: head.readUInt32LE(pos + 12), bits: head.readUInt16LE(pos + 22) };
      } else if (id === 'data') {
        return fmt ? { ...fmt, dataOffset: pos + 8, dataBytes: size } : null;
      }
      pos += 8 + size + (size & 1);
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/** A byte source of `size` bytes, readable from any offset. */
interface Virtual {
  size: number;
  type: string;
  open(start: number, endInclusive: number): Readable;
}

function respond(v: Virtual, rangeHeader: string | null | undefined, wantBody: boolean, extra: Record<string, string> = {}): MediaResponse {
  const base = { 'Accept-Ranges': 'bytes', 'Content-Type': v.type, 'Cache-Control': 'no-store', ...extra };
  const range = parseRange(rangeHeader, v.size);
  if (range === 'unsatisfiable') return { status: 416, headers: { ...base, 'Content-Range': `bytes */${v.size}`, 'Content-Length': '0' }, body: null };
  if (range === null) {
    return { status: 200, headers: { ...base, 'Content-Length': String(v.size) }, body: wantBody && v.size > 0 ? v.open(0, v.size - 1) : wantBody ? Readable.from([]) : null };
  }
  return {
    status: 206,
    headers: { ...base, 'Content-Range': `bytes ${range.start}-${range.end}/${v.size}`, 'Content-Length': String(range.end - range.start + 1) },
    body: wantBody ? v.open(range.start, range.end) : null,
  };
}

/** Float32 data served as bytes (raw PCM), never past `frames`. */
function floatBytes(d: FloatData): Virtual {
  return {
    size: d.frames * BPF,
    type: 'application/octet-stream',
    open: (start, end) => createReadStream(d.file, { start: d.offset + start, end: d.offset + end }),
  };
}

/** A float WAV of exactly the data's frames: header + data. */
function floatWav(d: FloatData): Virtual {
  const header = wavHeader({ sampleRate: PCM_RATE, channels: PCM_CHANNELS, bits: 32, float: true, dataBytes: d.frames * BPF });
  const data = floatBytes(d);
  return {
    size: header.length + data.size,
    type: 'audio/wav',
    open(start, end) {
      const parts: Readable[] = [];
      if (start < header.length) parts.push(Readable.from([header.subarray(start, Math.min(header.length, end + 1))]));
      if (end >= header.length && data.size > 0) parts.push(data.open(Math.max(0, start - header.length), end - header.length));
      return Readable.from(concatStreams(parts));
    },
  };
}

async function* concatStreams(parts: Readable[]): AsyncGenerator<Buffer> {
  for (const p of parts) for await (const c of p) yield c as Buffer;
}

/** Integer PCM wav (16/24-bit, stereo, model rate) converted to float32 on the fly. */
function intWavAsFloat(file: string, dataOffset: number, bits: 16 | 24, frames: number): Virtual {
  const inBpf = (bits / 8) * PCM_CHANNELS;
  return {
    size: frames * BPF,
    type: 'application/octet-stream',
    open(start, end) {
      const f0 = Math.floor(start / BPF);
      const f1 = Math.floor(end / BPF); // inclusive
      const skip = start - f0 * BPF;
      const total = end - start + 1;
      return Readable.from(
        (async function* () {
          let sent = 0;
          let first = true;
          const src = createReadStream(file, { start: dataOffset + f0 * inBpf, end: dataOffset + (f1 + 1) * inBpf - 1, highWaterMark: inBpf * 8192 });
          let carry = Buffer.alloc(0);
          for await (const chunk of src as AsyncIterable<Buffer>) {
            const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
            const n = Math.floor(buf.length / inBpf);
            carry = Buffer.from(buf.subarray(n * inBpf));
            const out = Buffer.alloc(n * BPF);
            const samples = n * PCM_CHANNELS;
            if (bits === 16) for (let i = 0; i < samples; i++) out.writeFloatLE(buf.readInt16LE(2 * i) / 32768, 4 * i);
            else for (let i = 0; i < samples; i++) out.writeFloatLE(buf.readIntLE(3 * i, 3) / 8388608, 4 * i);
            let piece = out;
            if (first) {
              piece = piece.subarray(skip);
              first = false;
            }
            if (sent + piece.length > total) piece = piece.subarray(0, total - sent);
            sent += piece.length;
            if (piece.length) yield piece;
            if (sent >= total) return;
          }
        })(),
      );
    },
  };
}

/** Any file ffmpeg reads, decoded from the asked position (flac/mp3 stems, the original input). */
function decoded(file: string, frames: number): Virtual {
  return {
    size: frames * BPF,
    type: 'application/octet-stream',
    open(start, end) {
      const f0 = Math.floor(start / BPF);
      const skip = start - f0 * BPF;
      const total = end - start + 1;
      return Readable.from(
        (async function* () {
          const ff = resolveFfmpeg();
          // Input seeking decodes from the frame before and drops samples up to the exact
          // timestamp (sample-exact for the formats we write; checked in media-pcm.test.ts).
          // Near the start (and in very short files, where seeking can overshoot) it decodes from
          // the beginning and skips.
          const seek = f0 >= 2 * PCM_RATE;
          const args = ['-hide_banner', '-nostdin', '-v', 'error'];
          if (seek) args.push('-ss', ((f0 + 0.25) / PCM_RATE).toFixed(8));
          args.push('-i', file, '-map', '0:a:0', '-vn', '-f', 'f32le', '-acodec', 'pcm_f32le', '-ac', String(PCM_CHANNELS), '-ar', String(PCM_RATE), 'pipe:1');
          const child = spawn(ff.path, args, { stdio: ['ignore', 'pipe', 'ignore'] });
          let sent = 0;
          let toSkip = skip + (seek ? 0 : f0 * BPF);
          try {
            for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
              let piece = chunk;
              if (toSkip > 0) {
                const k = Math.min(toSkip, piece.length);
                piece = piece.subarray(k);
                toSkip -= k;
              }
              if (sent + piece.length > total) piece = piece.subarray(0, total - sent);
              sent += piece.length;
              if (piece.length) yield piece;
              if (sent >= total) break;
            }
            // The decoder may come out a few frames short of the announced length: pad with silence.
            if (sent < total) yield Buffer.alloc(total - sent);
          } finally {
            if (child.exitCode === null) child.kill('SIGKILL');
          }
        })(),
      );
    },
  };
}

const probeCache = new Map<string, number>();

/** Frames of a file at the model's rate (wav headers read directly, others probed once). */
async function framesOf(file: string, known: number | null): Promise<number> {
  if (known != null && known > 0) return Math.round(known * PCM_RATE);
  const st = await stat(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  const hit = probeCache.get(key);
  if (hit !== undefined) return hit;
  const info = await probeAudio(file);
  const frames = Math.round((info.durationSec ?? 0) * PCM_RATE);
  if (probeCache.size > 200) probeCache.clear();
  probeCache.set(key, frames);
  return frames;
}

/**
 * Raw PCM (float32 LE, stereo, PCM_RATE) of a file the resolver already confined to the job:
 * a finished stem or the job's input (`mix`).
 */
export async function servePcmFile(job: Job, stem: string, file: string, rangeHeader: string | null | undefined, wantBody: boolean): Promise<MediaResponse> {
  const known = stem === 'mix' ? job.durationSec : (job.stems.find((s) => s.name === stem)?.durationSec ?? null);
  if (/\.wav$/i.test(file)) {
    const w = readWavLayout(file);
    if (w && w.channels === PCM_CHANNELS && w.sampleRate === PCM_RATE) {
      const size = (await stat(file)).size;
      const dataBytes = Math.min(w.dataBytes || size - w.dataOffset, size - w.dataOffset);
      if (w.format === 3 && w.bits === 32) return respond(floatBytes({ file, offset: w.dataOffset, frames: Math.floor(dataBytes / BPF) }), rangeHeader, wantBody, pcmHeaders(true));
      if (w.format === 1 && (w.bits === 16 || w.bits === 24)) {
        return respond(intWavAsFloat(file, w.dataOffset, w.bits, Math.floor(dataBytes / ((w.bits / 8) * PCM_CHANNELS))), rangeHeader, wantBody, pcmHeaders(true));
      }
    }
  }
  // A running job's input is known only by probing; a finished one's stems carry their length.
  return respond(decoded(file, await framesOf(file, job.status === 'done' || stem !== 'mix' ? known : null)), rangeHeader, wantBody, pcmHeaders(true));
}

/** The ready prefix of a running stem: raw PCM, or a float WAV of exactly that length. */
export function servePartial(data: FloatData, pcm: boolean, rangeHeader: string | null | undefined, wantBody: boolean): MediaResponse {
  return respond(pcm ? floatBytes(data) : floatWav(data), rangeHeader, wantBody, pcm ? pcmHeaders(false) : { 'X-Demix-Complete': '0' });
}

function pcmHeaders(complete: boolean): Record<string, string> {
  return { 'X-Demix-Pcm': `f32le;rate=${PCM_RATE};channels=${PCM_CHANNELS}`, 'X-Demix-Complete': complete ? '1' : '0' };
}

/** Fine peaks of a running stem's ready prefix, extended incrementally as `ready` grows. */
const PEAK_BLOCK = 256;
const partialPeakCache = new Map<string, { file: string; frames: number; blocks: Float32Array; n: number }>();

/**
 * Peaks of the finalised prefix of a running job's stem (jobs:peaks on a running job): `buckets`
 * absolute peaks over the first `durationSec` seconds (= ready). Reads only what is new since the
 * last call. null when nothing of that stem is ready.
 */
export async function partialPeaks(job: Job, stem: string, buckets: number): Promise<{ durationSec: number; peaks: number[] } | null> {
  const key = `${job.id}\0${stem}`;
  // One reader per stem at a time (the cache entry is extended in place); later callers wait for it.
  const prev = partialPeakBusy.get(key) ?? Promise.resolve();
  const mine = prev.then(() => partialPeaksNow(job, stem, buckets, key));
  const settled = mine.then(
    () => {},
    () => {},
  );
  partialPeakBusy.set(key, settled);
  void settled.then(() => {
    if (partialPeakBusy.get(key) === settled) partialPeakBusy.delete(key);
  });
  return mine;
}

const partialPeakBusy = new Map<string, Promise<void>>();

async function partialPeaksNow(job: Job, stem: string, buckets: number, key: string): Promise<{ durationSec: number; peaks: number[] } | null> {
  const data = await resolvePartial(job, stem);
  if (!data) return null;
  let c = partialPeakCache.get(key);
  if (!c || c.file !== data.file || c.frames > data.frames) c = { file: data.file, frames: 0, blocks: new Float32Array(1024), n: 0 };
  // Whole blocks only (the last partial block is recomputed next time).
  const upTo = Math.floor(data.frames / PEAK_BLOCK) * PEAK_BLOCK;
  if (upTo > c.frames) {
    const need = upTo / PEAK_BLOCK;
    if (need > c.blocks.length) {
      const bigger = new Float32Array(Math.max(need, c.blocks.length * 2));
      bigger.set(c.blocks.subarray(0, c.n));
      c.blocks = bigger;
    }
    // Read in ~64 KiB steps with asynchronous reads: the core's event loop turns between them
    // (a running job's first call reads everything finished so far).
    const fh = await fsp.open(data.file, 'r');
    try {
      const step = PEAK_BLOCK * 32;
      const buf = Buffer.alloc(step * BPF);
      for (let f = c.frames; f < upTo; f += step) {
        const frames = Math.min(step, upTo - f);
        const { bytesRead: got } = await fh.read(buf, 0, frames * BPF, data.offset + f * BPF);
        const view = new Float32Array(buf.buffer, buf.byteOffset, Math.floor(got / 4));
        for (let b = 0; b * PEAK_BLOCK < frames; b++) {
          let m = 0;
          const end = Math.min(view.length, (b + 1) * PEAK_BLOCK * 2);
          for (let i = b * PEAK_BLOCK * 2; i < end; i++) {
            const v = Math.abs(view[i]);
            if (v > m) m = v;
          }
          c.blocks[c.n++] = m;
        }
      }
    } finally {
      await fh.close();
    }
    c.frames = upTo;
  }
  partialPeakCache.set(key, c);
  if (partialPeakCache.size > 64) partialPeakCache.delete(partialPeakCache.keys().next().value!);
  const out: number[] = new Array(buckets).fill(0);
  for (let i = 0; i < buckets; i++) {
    const s = Math.floor((i * c.n) / buckets);
    const e = Math.max(s + 1, Math.floor(((i + 1) * c.n) / buckets));
    let m = 0;
    for (let j = s; j < e && j < c.n; j++) if (c.blocks[j] > m) m = c.blocks[j];
    out[i] = m > 1 ? 1 : Math.round(m * 10000) / 10000;
  }
  return { durationSec: c.frames / PCM_RATE, peaks: out };
}

/**
 * Everything the media protocols answer for `<jobId>/<stem>`: a finished stem or the input with
 * Range (unchanged), the ready prefix of a running job's stem, or either as raw PCM (`pcm`:
 * float32 LE stereo, for the Web Audio player). null → 404.
 */
export async function serveMedia(
  core: Pick<ShellCore, 'jobs'>,
  jobId: string,
  stem: string,
  req: { range: string | null | undefined; pcm: boolean; body: boolean },
): Promise<MediaResponse | null> {
  const file = await resolveMedia(core, jobId, stem);
  if (file) {
    if (!req.pcm) return serveRange(file, req.range, { body: req.body });
    return servePcmFile(core.jobs.get(jobId), stem, file, req.range, req.body);
  }
  if (!/^[^/\\\0]{1,255}$/.test(jobId)) return null;
  let job;
  try {
    job = core.jobs.get(jobId);
  } catch {
    return null;
  }
  const partial = await resolvePartial(job, stem);
  return partial ? servePartial(partial, req.pcm, req.range, req.body) : null;
}

/** True when a media URL's query asks for raw PCM (`?pcm=f32`). */
export function wantsPcm(search: URLSearchParams): boolean {
  return search.get('pcm') === 'f32';
}
