/**
 * Mixdown export: decode the chosen stems of a finished job, sum them with per-stem gains and
 * write one file into the job folder (temp + rename, through the engine's writer).
 */
import path from 'node:path';
import { decodeAudio } from '../engine/decode.ts';
import { openAudioWriter } from '../engine/encode.ts';
import type { BitDepth, ClipMode, OutputFormat } from '../preload/contract.ts';
import { sanitizeSegment } from './paths.ts';

const CHUNK = 44100 * 2; // one second of interleaved stereo samples

class Pull {
  private buf = new Float32Array(0);
  private off = 0;
  ended = false;
  constructor(private readonly it: AsyncGenerator<Float32Array>) {}

  get available(): number {
    return this.buf.length - this.off;
  }

  async fill(min: number): Promise<void> {
    while (!this.ended && this.available < min) {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        break;
      }
      const rest = this.buf.subarray(this.off);
      const next = new Float32Array(rest.length + r.value.length);
      next.set(rest);
      next.set(r.value, rest.length);
      this.buf = next;
      this.off = 0;
    }
  }

  /** Adds up to n samples times gain into out (missing samples count as silence). */
  addInto(out: Float32Array, gain: number): void {
    const n = Math.min(out.length, this.available);
    const src = this.buf;
    for (let i = 0; i < n; i++) out[i] += src[this.off + i] * gain;
    this.off += n;
  }

  async close(): Promise<void> {
    await this.it.return(undefined);
  }
}

export function mixdownFileName(stems: string[], format: OutputFormat): string {
  return `mix-${sanitizeSegment(stems.join('+'))}.${format}`;
}

export interface MixdownOptions {
  inputs: { path: string; gain: number }[];
  outDir: string;
  fileName: string;
  format: OutputFormat;
  bits: BitDepth;
  clipMode: ClipMode;
}

export async function writeMixdown(opts: MixdownOptions): Promise<{ path: string; durationSec: number }> {
  const target = path.join(opts.outDir, opts.fileName);
  const pulls = opts.inputs.map((i) => ({ pull: new Pull(decodeAudio(i.path, { sampleRate: 44100, channels: 2 })), gain: i.gain }));
  const writer = await openAudioWriter(target, { format: opts.format, bits: opts.bits, clipMode: opts.clipMode, sampleRate: 44100, channels: 2 });
  try {
    for (;;) {
      await Promise.all(pulls.map((p) => p.pull.fill(CHUNK)));
      const n = Math.min(CHUNK, Math.max(...pulls.map((p) => p.pull.available)));
      if (n <= 0) break;
      const out = new Float32Array(n - (n % 2));
      for (const p of pulls) p.pull.addInto(out, p.gain);
      await writer.write(out);
    }
    const res = await writer.finish();
    return { path: res.path, durationSec: res.durationSec };
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    await Promise.all(pulls.map((p) => p.pull.close().catch(() => {})));
  }
}
