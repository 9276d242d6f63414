/**
 * Stand-in for engine/decode.ts in the self-contained bundle that scripts/gpu-carry.mjs builds for
 * a GPU machine without ffmpeg: a WAV file that is already 16-bit PCM or 32-bit float at the
 * requested rate and channel count is read in-process (no resampling, no mixing); anything else
 * goes to the real ffmpeg decoder. The separation itself (model runs, DSP, stem writing) is the
 * engine's own code, unchanged. Used only through that bundle's import alias, never by the app.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import * as ffmpegDecode from '../engine/decode.ts';
import type { DecodeOptions, ProbeInfo } from '../engine/decode.ts';

export type { DecodeOptions, ProbeInfo };

interface WavLayout {
  format: 1 | 3;
  bits: 16 | 32;
  channels: number;
  sampleRate: number;
  dataOffset: number;
  dataBytes: number;
}

/** The layout of a plain PCM16 / float32 WAV file, or null for anything else (ffmpeg handles it). */
export function readWavLayout(file: string): WavLayout | null {
  if (!file.toLowerCase().endsWith('.wav')) return null;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null; // ffmpeg's path reports the error
  }
  try {
    const size = statSync(file).size;
    const head = Buffer.alloc(12);
    if (readSync(fd, head, 0, 12, 0) < 12 || head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return null;
    let pos = 12;
    let fmt: Omit<WavLayout, 'dataOffset' | 'dataBytes'> | null = null;
    const chunk = Buffer.alloc(24);
    while (pos + 8 <= size) {
      readSync(fd, chunk, 0, 8, pos);
      const id = chunk.toString('ascii', 0, 4);
      const len = chunk.readUInt32LE(4);
      if (id === 'fmt ') {
        if (len < 16 || readSync(fd, chunk, 0, 16, pos + 8) < 16) return null;
        const format = chunk.readUInt16LE(0);
        const bits = chunk.readUInt16LE(14);
        if (!((format === 1 && bits === 16) || (format === 3 && bits === 32))) return null;
        fmt = { format: format as 1 | 3, bits: bits as 16 | 32, channels: chunk.readUInt16LE(2), sampleRate: chunk.readUInt32LE(4) };
      } else if (id === 'data') {
        if (!fmt) return null;
        const dataOffset = pos + 8;
        // A streamed writer may leave the size 0 or 0xffffffff: the data then runs to the end.
        const dataBytes = len === 0 || len === 0xffffffff || dataOffset + len > size ? size - dataOffset : len;
        return { ...fmt, dataOffset, dataBytes };
      }
      pos += 8 + len + (len & 1);
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

function usable(layout: WavLayout | null, opts: DecodeOptions): layout is WavLayout {
  return layout !== null && layout.sampleRate === (opts.sampleRate ?? 44100) && layout.channels === (opts.channels ?? 2);
}

export async function probeAudio(file: string): Promise<ProbeInfo> {
  const w = readWavLayout(file);
  if (!w || w.dataBytes === 0) return ffmpegDecode.probeAudio(file);
  const frames = Math.floor(w.dataBytes / ((w.bits / 8) * w.channels));
  return { durationSec: frames / w.sampleRate, channels: w.channels, sampleRate: w.sampleRate, codec: w.format === 3 ? 'pcm_f32le' : 'pcm_s16le' };
}

export async function* decodeAudio(file: string, opts: DecodeOptions = {}): AsyncGenerator<Float32Array> {
  const w = readWavLayout(file);
  if (!usable(w, opts) || w.dataBytes === 0) {
    yield* ffmpegDecode.decodeAudio(file, opts);
    return;
  }
  const bytesPerSample = w.bits / 8;
  const frameBytes = bytesPerSample * w.channels;
  const chunkBytes = frameBytes * 16384;
  const end = w.dataOffset + w.dataBytes - (w.dataBytes % frameBytes);
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(chunkBytes);
    for (let pos = w.dataOffset; pos < end; ) {
      opts.signal?.throwIfAborted();
      const n = readSync(fd, buf, 0, Math.min(chunkBytes, end - pos), pos);
      if (n <= 0) break;
      const count = Math.floor(n / bytesPerSample);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = w.format === 3 ? buf.readFloatLE(i * 4) : buf.readInt16LE(i * 2) / 32768;
      pos += n;
      yield out;
    }
  } finally {
    closeSync(fd);
  }
}
