/**
 * Quick excerpts with the real model: `excerpt` separates only a span (plus half a segment of
 * context each side, trimmed exactly): stems exactly the span's length in samples, and within
 * 0.5 dB SDR of the same span cut from a full separation (context differs only at the edges).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStereo, sdr } from './metrics.ts';
import { Separator, excerptFrames } from './separator.ts';

const FIX = path.resolve(import.meta.dirname, '..', 'test', 'fixtures', 'known-answer', 'song01');
let sep: Separator;
let dir: string;

describe('excerptFrames (span checks, no model)', () => {
  it('computes the span, the decoded window with context, and the part kept', () => {
    expect(excerptFrames({ startSec: 60, endSec: 90 }, 200, 44100, 1000)).toEqual({
      from: 60 * 44100,
      to: 90 * 44100,
      ctxFrom: 60 * 44100 - 1000,
      ctxTo: 90 * 44100 + 1000,
      keepFrom: 1000,
      keepTo: 1000 + 30 * 44100,
    });
    // context clipped at the song's edges
    const e = excerptFrames({ startSec: 0, endSec: 2 }, 2, 100, 50);
    expect([e.ctxFrom, e.ctxTo, e.keepFrom, e.keepTo]).toEqual([0, 200, 0, 200]);
  });

  it('bad spans: one clear line each', () => {
    expect(() => excerptFrames({ startSec: 90, endSec: 60 }, 200, 44100, 0)).toThrow(/--excerpt 1:30-1:00: the end is before the start/);
    expect(() => excerptFrames({ startSec: 60, endSec: 60 }, 200, 44100, 0)).toThrow(/zero length/);
    expect(() => excerptFrames({ startSec: 60, endSec: 250 }, 200, 44100, 0, 'song.mp3')).toThrow(/song.mp3 is only 3:20 long; choose a span that ends by then/);
  });
});

describe('excerpt with the real model', () => {
  beforeAll(async () => {
    sep = await Separator.create({ modelId: 'htdemucs', device: 'cpu' });
    dir = mkdtempSync(path.join(os.tmpdir(), 'demix-excerpt-'));
  });
  afterAll(async () => {
    await sep?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes stems of exactly the span, within 0.5 dB SDR of the same span of a full separation', async () => {
    const input = path.join(FIX, 'mixture.flac');
    const span = { startSec: 3.25, endSec: 8.5 };
    const from = Math.round(span.startSec * 44100);
    const to = Math.round(span.endSec * 44100);
    const full = await sep.separate(input, path.join(dir, 'full'), { format: 'wav', bits: 32 });
    const ex = await sep.separate(input, path.join(dir, 'excerpt'), { format: 'wav', bits: 32, excerpt: span });
    expect(ex.durationSec).toBe((to - from) / 44100);
    const cut = (x: [Float32Array, Float32Array]): [Float32Array, Float32Array] => [x[0].subarray(from, to), x[1].subarray(from, to)];
    const diffs: Record<string, number> = {};
    for (const s of ex.stems) {
      const e = await readStereo(s.path);
      expect(e[0].length, `${s.name} length`).toBe(to - from); // exact to the sample
      const f = cut(await readStereo(full.stems.find((x) => x.name === s.name)!.path));
      const truth = cut(await readStereo(path.join(FIX, `${s.name}.flac`)));
      diffs[s.name] = Math.abs(sdr(truth, e) - sdr(truth, f));
    }
    for (const [stem, d] of Object.entries(diffs)) expect(d, `${stem}: |SDR(excerpt) - SDR(full, same span)| = ${d.toFixed(3)} dB`).toBeLessThan(0.5);
  });

  it('a span past the end of the song: one clear line, no files', async () => {
    await expect(sep.separate(path.join(FIX, 'mixture.flac'), path.join(dir, 'bad'), { excerpt: { startSec: 10, endSec: 20 } })).rejects.toThrow(/only 12(\.\d+)? long/);
  });
});
