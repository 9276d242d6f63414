/**
 * Mixdown export: decode the chosen stems of a finished job, sum them with per-stem gains and
 * write one file into the job folder (temp + rename, through the engine's writer). A practice
 * mixdown also goes through the time-stretch (main/stretch.ts) at the player's tempo and pitch,
 * block by block as it is summed (runs in the media worker thread).
 */
import path from 'node:path';
import { decodeAudio } from '../engine/decode.ts';
import { openAudioWriter } from '../engine/encode.ts';
import type { BitDepth, ClipMode, OutputFormat } from '../preload/contract.ts';
import { sanitizeSegment } from './paths.ts';
import { OfflineStretch, isIdentity } from './stretch.ts';

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

/** Tempo (percent) and pitch (semitones) of a practice mixdown; absent or 100 % / 0 = unchanged. */
export interface PracticeRender {
  tempoPct: number;
  semitones: number;
}

/**
 * The practice part of a mixdown's name, as the player shows it: "80% -2st", "100% +1st +30c",
 * "75%"; "" when nothing changes. A fractional pitch is split into whole semitones and cents
 * (-50..50): -1.7 → "-2st +30c".
 */
export function practiceNameSuffix(p: PracticeRender | undefined): string {
  if (!p || isIdentity({ tempo: p.tempoPct / 100, semitones: p.semitones })) return '';
  const pct = Math.round(p.tempoPct * 10) / 10;
  const st = Math.round(p.semitones);
  const c = Math.round((p.semitones - st) * 100);
  const parts = [`${pct}%`];
  if (st !== 0) parts.push(`${st > 0 ? '+' : ''}${st}st`);
  if (c !== 0) parts.push(`${c > 0 ? '+' : ''}${c}c`);
  return parts.join(' ');
}

/** `mix-drums+bass.wav`; with a tempo/pitch change `mix-drums+bass 80% -2st.wav`. */
export function mixdownFileName(stems: string[], format: OutputFormat, practice?: PracticeRender): string {
  const suffix = practiceNameSuffix(practice);
  return `mix-${sanitizeSegment(stems.join('+'))}${suffix ? ` ${suffix}` : ''}.${format}`;
}

export interface MixdownOptions {
  inputs: { path: string; gain: number }[];
  outDir: string;
  fileName: string;
  format: OutputFormat;
  bits: BitDepth;
  clipMode: ClipMode;
  /** Render at this tempo and pitch (time-stretch + pitch-shift); absent = as separated. */
  practice?: PracticeRender;
}

export async function writeMixdown(opts: MixdownOptions): Promise<{ path: string; durationSec: number }> {
  const target = path.join(opts.outDir, opts.fileName);
  const pulls = opts.inputs.map((i) => ({ pull: new Pull(decodeAudio(i.path, { sampleRate: 44100, channels: 2 })), gain: i.gain }));
  const writer = await openAudioWriter(target, { format: opts.format, bits: opts.bits, clipMode: opts.clipMode, sampleRate: 44100, channels: 2 });
  try {
    const pr = opts.practice;
    const stretch = pr && !isIdentity({ tempo: pr.tempoPct / 100, semitones: pr.semitones }) ? await OfflineStretch.create({ tempo: pr.tempoPct / 100, semitones: pr.semitones, sampleRate: 44100 }) : null;
    for (;;) {
      await Promise.all(pulls.map((p) => p.pull.fill(CHUNK)));
      const n = Math.min(CHUNK, Math.max(...pulls.map((p) => p.pull.available)));
      if (n <= 0) break;
      const out = new Float32Array(n - (n % 2));
      for (const p of pulls) p.pull.addInto(out, p.gain);
      const y = stretch ? stretch.push(out) : out;
      if (y.length > 0) await writer.write(y);
    }
    if (stretch) {
      const tail = stretch.end();
      if (tail.length > 0) await writer.write(tail);
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
