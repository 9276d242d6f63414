/**
 * Writing stems incrementally while separating, and atomically: samples go to a temp file
 * (`<name>.raw.partial`, float32) as they are produced; `finish()` applies the clip mode in one
 * streaming pass (rescale needs the stem's peak, known only at the end), encodes (wav in-process,
 * flac/mp3 through ffmpeg) into `<name>.partial`, and renames that into place.
 * Float wav is written directly (float never clips) and only renamed at the end.
 */
import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { DemixError, toErrorInfo } from './errors.ts';
import { resolveFfmpeg } from './ffmpeg.ts';
import { spawnTool } from './tool-spawn.ts';
import type { BitDepth, ClipMode, OutputFormat } from './types.ts';

export interface AudioWriterOptions {
  format: OutputFormat;
  bits: BitDepth;
  clipMode?: ClipMode;
  sampleRate?: number;
  channels?: number;
  /** Tag in the temp file names (`<name>.<tag>.partial`): runs with different tags never touch each other's temp files. */
  partialTag?: string;
}

export interface AudioWriter {
  readonly path: string;
  /** Interleaved float32 frames. */
  write(interleaved: Float32Array): Promise<void>;
  /** Applies the clip mode, encodes, renames the temp file into place. */
  finish(): Promise<{ path: string; durationSec: number; peak: number }>;
  /** Removes the temp files (idempotent). */
  abort(): Promise<void>;
}

export const PARTIAL_SUFFIX = '.partial';

export function wavHeader(opts: { sampleRate: number; channels: number; bits: 16 | 24 | 32; float: boolean; dataBytes: number }): Buffer {
  const { sampleRate, channels, bits, float, dataBytes } = opts;
  const h = Buffer.alloc(44);
  const blockAlign = (channels * bits) / 8;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(float ? 3 : 1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bits, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, dataBytes), 40);
  return h;
}

/** Converts float samples to little-endian integer PCM as demucs' i16_pcm/i24_pcm (scale, clamp, truncate). */
function toIntPcm(src: Float32Array, bits: 16 | 24, out: Buffer): number {
  if (bits === 16) {
    for (let i = 0; i < src.length; i++) {
      let v = Math.trunc(src[i] * 32768);
      if (v > 32767) v = 32767;
      else if (v < -32768) v = -32768;
      out.writeInt16LE(v, 2 * i);
    }
    return 2 * src.length;
  }
  for (let i = 0; i < src.length; i++) {
    let v = Math.trunc(src[i] * 8388608);
    if (v > 8388607) v = 8388607;
    else if (v < -8388608) v = -8388608;
    out.writeIntLE(v, 3 * i, 3);
  }
  return 3 * src.length;
}

function writeAll(fd: number, buf: Uint8Array, position?: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
    off += n;
  }
}

function wrapIo(e: unknown, file: string): never {
  const info = toErrorInfo(e, { outputDir: file });
  throw new DemixError(info.code, info.message, { cause: e });
}

export async function openAudioWriter(finalPath: string, opts: AudioWriterOptions): Promise<AudioWriter> {
  const sampleRate = opts.sampleRate ?? 44100;
  const channels = opts.channels ?? 2;
  const clipMode = opts.clipMode ?? 'rescale';
  const directFloat = opts.format === 'wav' && opts.bits === 32;
  const tag = opts.partialTag ? `.${opts.partialTag}` : '';
  const partial = `${finalPath}${tag}${PARTIAL_SUFFIX}`;
  const rawPath = directFloat ? partial : `${finalPath}.raw${tag}${PARTIAL_SUFFIX}`;
  let fd: number;
  try {
    fd = openSync(rawPath, 'w');
    if (directFloat) writeAll(fd, wavHeader({ sampleRate, channels, bits: 32, float: true, dataBytes: 0 }));
  } catch (e) {
    wrapIo(e, finalPath);
  }
  let samples = 0;
  let peak = 0;
  let closed = false;
  let done = false;

  const closeFd = () => {
    if (!closed) {
      closed = true;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  };

  const cleanup = async () => {
    closeFd();
    rmSync(rawPath, { force: true });
    rmSync(partial, { force: true });
  };

  return {
    path: finalPath,
    async write(interleaved: Float32Array) {
      for (let i = 0; i < interleaved.length; i++) {
        const a = Math.abs(interleaved[i]);
        if (a > peak) peak = a;
      }
      try {
        writeAll(fd, new Uint8Array(interleaved.buffer, interleaved.byteOffset, interleaved.byteLength));
      } catch (e) {
        wrapIo(e, finalPath);
      }
      samples += interleaved.length;
    },
    async finish() {
      if (done) throw new Error('AudioWriter.finish called twice');
      done = true;
      const frames = samples / channels;
      try {
        if (directFloat) {
          writeAll(fd, wavHeader({ sampleRate, channels, bits: 32, float: true, dataBytes: samples * 4 }), 0);
          closeFd();
          renameSync(partial, finalPath);
          return { path: finalPath, durationSec: frames / sampleRate, peak };
        }
        closeFd();
        // demucs prevent_clip: rescale = wav / max(1.01 * peak, 1); clamp = clamp(-0.99, 0.99)
        const gain = clipMode === 'rescale' ? 1 / Math.max(1.01 * peak, 1) : 1;
        const limit = clipMode === 'clamp' ? 0.99 : Infinity;
        const transform = (block: Float32Array) => {
          if (gain !== 1) for (let i = 0; i < block.length; i++) block[i] *= gain;
          if (limit !== Infinity)
            for (let i = 0; i < block.length; i++) {
              if (block[i] > limit) block[i] = limit;
              else if (block[i] < -limit) block[i] = -limit;
            }
        };
        if (opts.format === 'wav') await encodeWavInt(rawPath, partial, { sampleRate, channels, bits: opts.bits as 16 | 24, samples, transform });
        else await encodeWithFfmpeg(rawPath, partial, { sampleRate, channels, format: opts.format, bits: opts.bits, transform });
        renameSync(partial, finalPath);
        rmSync(rawPath, { force: true });
        return { path: finalPath, durationSec: frames / sampleRate, peak };
      } catch (e) {
        await cleanup();
        if (e instanceof DemixError) throw e;
        wrapIo(e, finalPath);
      }
    },
    abort: cleanup,
  };
}

const BLOCK = 1 << 16; // floats per read block

function* readRawBlocks(rawPath: string): Generator<Float32Array> {
  const fd = openSync(rawPath, 'r');
  try {
    const block = new Float32Array(BLOCK);
    const bytes = new Uint8Array(block.buffer);
    for (;;) {
      const n = readSync(fd, bytes, 0, bytes.length, null);
      if (n <= 0) break;
      yield block.subarray(0, n >> 2);
    }
  } finally {
    closeSync(fd);
  }
}

async function encodeWavInt(rawPath: string, outPath: string, o: { sampleRate: number; channels: number; bits: 16 | 24; samples: number; transform: (b: Float32Array) => void }) {
  const out = openSync(outPath, 'w');
  try {
    writeAll(out, wavHeader({ sampleRate: o.sampleRate, channels: o.channels, bits: o.bits, float: false, dataBytes: (o.samples * o.bits) / 8 }));
    const pcm = Buffer.alloc(BLOCK * 3);
    for (const block of readRawBlocks(rawPath)) {
      o.transform(block);
      const n = toIntPcm(block, o.bits, pcm);
      writeAll(out, pcm.subarray(0, n));
    }
  } finally {
    closeSync(out);
  }
}

async function encodeWithFfmpeg(rawPath: string, outPath: string, o: { sampleRate: number; channels: number; format: 'flac' | 'mp3'; bits: BitDepth; transform: (b: Float32Array) => void }) {
  const ff = resolveFfmpeg();
  const codecArgs =
    o.format === 'flac'
      ? ['-c:a', 'flac', '-sample_fmt', o.bits === 16 ? 's16' : 's32', ...(o.bits === 16 ? [] : ['-bits_per_raw_sample', '24']), '-f', 'flac']
      : ['-c:a', 'libmp3lame', '-b:a', '320k', '-f', 'mp3'];
  const child = spawnTool(
    ff.path,
    ['-hide_banner', '-nostdin', '-v', 'error', '-y', '-f', 'f32le', '-ar', String(o.sampleRate), '-ac', String(o.channels), '-i', 'pipe:0', ...codecArgs, outPath],
    ['pipe', 'ignore'],
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr += d));
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve((exitInfo = { code, signal })));
  });
  exited.catch(() => {}); // awaited below; avoids an unhandled rejection while writing
  let stdinError: Error | null = null;
  // EPIPE when ffmpeg is gone: the exit (awaited below) says why; remember it for the message.
  child.stdin.on('error', (e) => (stdinError = e));
  for (const block of readRawBlocks(rawPath)) {
    if (exitInfo || stdinError) break;
    o.transform(block);
    const copy = Buffer.from(new Uint8Array(block.buffer, block.byteOffset, block.byteLength));
    if (!child.stdin.write(copy)) {
      // Wait for the pipe to drain, or for ffmpeg to end (killed, crashed, disk full while the pipe
      // is full): 'drain' never comes then, and waiting for it alone would hang the job forever.
      await new Promise<void>((resolve) => {
        const done = () => {
          child.stdin.off('drain', done);
          child.stdin.off('close', done);
          child.stdin.off('error', done);
          child.off('close', done);
          resolve();
        };
        child.stdin.once('drain', done);
        child.stdin.once('close', done);
        child.stdin.once('error', done);
        child.once('close', done);
      });
    }
  }
  child.stdin.end();
  const { code, signal } = await exited;
  if (code !== 0) {
    if (/No space left/i.test(stderr)) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC', path: outPath });
    if (/Permission denied|Read-only/i.test(stderr)) throw Object.assign(new Error('Permission denied'), { code: 'EACCES', path: outPath });
    if (signal) throw new DemixError('INTERNAL', `The ${o.format} encoder (ffmpeg) was stopped by ${signal} while writing ${outPath}; retry the job.`);
    throw new DemixError('INTERNAL', `ffmpeg could not encode ${o.format} (${stderr.trim().split('\n').pop() || (stdinError as Error | null)?.message || `exit ${code}`}).`);
  }
}
