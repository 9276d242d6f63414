/**
 * Practice mixdown (issue 13): the mixdown rendered at another tempo and pitch by the media
 * worker thread with signalsmith-stretch's WASM core, on real sines made and read back by ffmpeg.
 * Output length round(input / tempo), the pitch moved by the asked semitones and only by them,
 * stereo kept, no NaN, no clicks; the name shows the change; the contract refuses bad values.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../engine/decode.ts';
import { channels } from '../preload/contract.ts';
import { MediaThread } from './media-thread.ts';
import { mixdownFileName, practiceNameSuffix } from './mixdown.ts';
import { tempDir } from '../testing/test-harness.ts';

const SR = 44100;
const thread = new MediaThread();
afterAll(() => thread.close());

/** A stereo sine file: left at amplitude 0.5, right at 0.25 (so a swapped or mono output shows). */
function sine(dir: string, name: string, freq: number, seconds: number): string {
  const f = path.join(dir, name);
  const expr = `0.5*sin(2*PI*${freq}*t)|0.25*sin(2*PI*${freq}*t)`;
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=${expr}:s=${SR}:d=${seconds}`, '-c:a', 'pcm_f32le', f]);
  return f;
}

async function read(file: string): Promise<{ l: Float32Array; r: Float32Array }> {
  const parts: Float32Array[] = [];
  for await (const c of decodeAudio(file, { sampleRate: SR, channels: 2 })) parts.push(c);
  const n = parts.reduce((a, p) => a + p.length, 0) / 2;
  const l = new Float32Array(n);
  const r = new Float32Array(n);
  let f = 0;
  for (const p of parts) for (let i = 0; i < p.length; i += 2, f++) [l[f], r[f]] = [p[i], p[i + 1]];
  return { l, r };
}

/** Frequency from interpolated rising zero crossings over the middle 80 %. */
function frequency(x: Float32Array): number {
  let first = -1;
  let last = -1;
  let count = 0;
  for (let i = Math.floor(x.length * 0.1); i < Math.floor(x.length * 0.9); i++) {
    if (x[i] <= 0 && x[i + 1] > 0) {
      const t = i + -x[i] / (x[i + 1] - x[i]);
      if (first < 0) first = t;
      else count++;
      last = t;
    }
  }
  return (count * SR) / (last - first);
}

function peak(x: Float32Array, from = 0, to = x.length): number {
  let p = 0;
  for (let i = from; i < to; i++) p = Math.max(p, Math.abs(x[i]));
  return p;
}

/** Largest step between neighbouring samples (a click is a step far above the sine's own slope). */
function maxStep(x: Float32Array): number {
  let m = 0;
  for (let i = 1; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - x[i - 1]));
  return m;
}

function expectClean(l: Float32Array, r: Float32Array, freq: number): void {
  expect(l.every(Number.isFinite) && r.every(Number.isFinite)).toBe(true);
  // The slope of a 0.5-amplitude sine is at most 2π·f/SR·0.5; allow a little for the stretcher's modulation.
  expect(maxStep(l)).toBeLessThan(((2 * Math.PI * freq) / SR) * 0.5 * 1.5);
  // Starts and ends from silence (a short fade), not mid-waveform.
  expect(Math.abs(l[0])).toBeLessThan(0.01);
  expect(Math.abs(l[l.length - 1])).toBeLessThan(0.01);
  // Stereo kept: the right channel stays half the left in the steady part.
  const mid = [Math.floor(l.length * 0.3), Math.floor(l.length * 0.7)] as const;
  expect(peak(l, ...mid)).toBeGreaterThan(0.4);
  expect(peak(l, ...mid)).toBeLessThan(0.6);
  expect(peak(r, ...mid) / peak(l, ...mid)).toBeCloseTo(0.5, 1);
}

describe('practice mixdown (tempo and pitch, in the media worker)', () => {
  const dir = tempDir();
  const src = sine(dir, 'a.wav', 440, 2);

  it('pitch -2 st at tempo 100 %: 440 Hz becomes 392 Hz, same length', async () => {
    const res = await thread.mixdown({ inputs: [{ path: src, gain: 1 }], outDir: dir, fileName: 'p.wav', format: 'wav', bits: 32, clipMode: 'rescale', practice: { tempoPct: 100, semitones: -2 } });
    const { l, r } = await read(res.path);
    expect(l.length).toBe(2 * SR);
    expect(res.durationSec).toBeCloseTo(2, 6);
    const f = frequency(l);
    expect(Math.abs(f / (440 * 2 ** (-2 / 12)) - 1)).toBeLessThan(0.01);
    expect(Math.abs(f - 392)).toBeLessThan(3.92);
    expect(Math.abs(frequency(r) / f - 1)).toBeLessThan(0.005);
    expectClean(l, r, 392);
  });

  it('tempo 75 % at pitch 0: round(frames / 0.75) frames long, 440 Hz kept', async () => {
    const res = await thread.mixdown({ inputs: [{ path: src, gain: 1 }], outDir: dir, fileName: 't.wav', format: 'wav', bits: 32, clipMode: 'rescale', practice: { tempoPct: 75, semitones: 0 } });
    const { l, r } = await read(res.path);
    expect(l.length).toBe(Math.round((2 * SR) / 0.75));
    expect(Math.abs(res.durationSec / (2 / 0.75) - 1)).toBeLessThan(0.01);
    expect(Math.abs(frequency(l) / 440 - 1)).toBeLessThan(0.01);
    expectClean(l, r, 440);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.partial'))).toEqual([]);
  });

  it('both at once, on a sum of stems with gains, 16-bit: 150 % and +3 st', async () => {
    const b = sine(dir, 'b.wav', 440, 1.5);
    const res = await thread.mixdown({
      inputs: [
        { path: src, gain: 0.5 },
        { path: b, gain: 0.5 },
      ],
      outDir: dir,
      fileName: 'both.wav',
      format: 'wav',
      bits: 16,
      clipMode: 'rescale',
      practice: { tempoPct: 150, semitones: 3 },
    });
    const { l } = await read(res.path);
    expect(l.length).toBe(Math.round((2 * SR) / 1.5)); // the longest stem sets the length
    expect(l.every(Number.isFinite)).toBe(true);
    // The first two thirds (both stems, then one) at 440·2^(3/12) Hz.
    expect(Math.abs(frequency(l.subarray(0, Math.floor(l.length / 2))) / (440 * 2 ** 0.25) - 1)).toBeLessThan(0.01);
  });

  it('names the file after the change, as the player shows it', () => {
    expect(mixdownFileName(['no_vocals'], 'wav', { tempoPct: 80, semitones: -2 })).toBe('mix-no_vocals 80% -2st.wav');
    expect(mixdownFileName(['drums', 'bass'], 'flac', { tempoPct: 75, semitones: 0 })).toBe('mix-drums+bass 75%.flac');
    expect(mixdownFileName(['drums', 'bass'], 'wav', { tempoPct: 100, semitones: 0 })).toBe('mix-drums+bass.wav');
    expect(mixdownFileName(['drums'], 'wav')).toBe('mix-drums.wav');
    expect(practiceNameSuffix({ tempoPct: 100, semitones: 1.2 })).toBe('100% +1st +20c');
    expect(practiceNameSuffix({ tempoPct: 70, semitones: -1.7 })).toBe('70% -2st +30c');
    expect(practiceNameSuffix({ tempoPct: 87.25, semitones: 0.3 })).toBe('87.3% +30c');
  });

  it('the contract takes tempo in percent (50..150) and pitch in semitones (-12..12), and refuses the rest', () => {
    const req = channels['mixdown:export'].request;
    const base = { id: 'j1', stems: ['drums'], format: 'wav' };
    expect(req.parse({ ...base, tempo: 75, pitch: -2 })).toMatchObject({ tempo: 75, pitch: -2 });
    expect(req.parse({ ...base, tempo: 50, pitch: -1.7 })).toMatchObject({ tempo: 50, pitch: -1.7 });
    const plain = req.parse(base);
    expect(plain.tempo).toBeUndefined();
    expect(plain.pitch).toBeUndefined();
    for (const bad of [{ tempo: 0.75 }, { tempo: 151 }, { tempo: Number.NaN }, { tempo: Number.POSITIVE_INFINITY }, { tempo: '80%' }, { pitch: 12.5 }, { pitch: -13 }, { pitch: Number.NaN }]) {
      expect(req.safeParse({ ...base, ...bad }).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
