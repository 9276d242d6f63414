/**
 * Waveform peaks for the UI: a stem (or the input, 'mix') is decoded once with the engine's
 * decoder, reduced to PEAKS_RESOLUTION absolute peaks and cached in the database; requests for
 * fewer buckets are downsampled (max), for more are stretched (nearest).
 */
import { decodeAudio } from '../engine/decode.ts';
import type { Peaks } from '../preload/contract.ts';

export const PEAKS_RESOLUTION = 4000;
const BLOCK = 16; // frames per fine block while decoding
const SAMPLE_RATE = 44100;

export interface CachedPeaks {
  durationSec: number;
  peaks: Float32Array;
}

/** Decodes a file and returns PEAKS_RESOLUTION absolute peaks (0..1) plus its duration. */
export async function computePeaks(file: string, decode: typeof decodeAudio = decodeAudio): Promise<CachedPeaks> {
  let blocks = new Float32Array(1 << 16);
  let nBlocks = 0;
  let frameInBlock = 0;
  let cur = 0;
  let frames = 0;
  for await (const chunk of decode(file, { sampleRate: SAMPLE_RATE, channels: 2 })) {
    for (let i = 0; i + 1 < chunk.length; i += 2) {
      const a = Math.abs(chunk[i]);
      const b = Math.abs(chunk[i + 1]);
      const m = a > b ? a : b;
      if (m > cur) cur = m;
      if (++frameInBlock === BLOCK) {
        if (nBlocks === blocks.length) {
          const bigger = new Float32Array(blocks.length * 2);
          bigger.set(blocks);
          blocks = bigger;
        }
        blocks[nBlocks++] = cur;
        cur = 0;
        frameInBlock = 0;
      }
    }
    frames += chunk.length / 2;
  }
  if (frameInBlock > 0) {
    if (nBlocks === blocks.length) {
      const bigger = new Float32Array(blocks.length + 1);
      bigger.set(blocks);
      blocks = bigger;
    }
    blocks[nBlocks++] = cur;
  }
  return { durationSec: frames / SAMPLE_RATE, peaks: resample(blocks.subarray(0, nBlocks), PEAKS_RESOLUTION) };
}

/** Max-reduces (or nearest-stretches) `src` to exactly `n` values. */
export function resample(src: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const len = src.length;
  if (len === 0) return out;
  for (let i = 0; i < n; i++) {
    const start = Math.floor((i * len) / n);
    const end = Math.max(start + 1, Math.floor(((i + 1) * len) / n));
    let m = 0;
    for (let j = start; j < end && j < len; j++) if (src[j] > m) m = src[j];
    out[i] = m;
  }
  return out;
}

export function encodePeaks(p: CachedPeaks): Buffer {
  const arr = new Float32Array(p.peaks.length + 1);
  arr[0] = p.durationSec;
  arr.set(p.peaks, 1);
  return Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
}

export function decodePeaks(buf: Buffer): CachedPeaks | null {
  if (buf.byteLength < 8 || buf.byteLength % 4 !== 0) return null;
  const arr = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  return { durationSec: arr[0], peaks: arr.subarray(1) };
}

export function toContractPeaks(c: CachedPeaks, buckets: number): Peaks {
  const r = resample(c.peaks, buckets);
  return { durationSec: Math.max(0, c.durationSec), peaks: Array.from(r, (v) => (v > 1 ? 1 : Math.round(v * 10000) / 10000)) };
}
