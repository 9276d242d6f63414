import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../preload/contract.ts';
import { wavHeader } from '../engine/encode.ts';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';
import type { ShellCore } from './handlers.ts';
import { partialPeaks, readWavLayout, serveMedia } from './media-pcm.ts';

let root: string;
let out: string;
const FRAMES = 3000;
/** Float32 interleaved stereo: left = i/1e4, right = -i/1e4. */
const floats = new Float32Array(2 * FRAMES).map((_, k) => ((k & 1 ? -1 : 1) * (k >> 1)) / 1e4);
const jobs = new Map<string, Job>();

function job(id: string, patch: Partial<Job>): Job {
  const j: Job = {
    id,
    name: 'song.wav',
    inputPath: path.join(root, 'song.wav'),
    batchId: null,
    relativePath: null,
    options: { modelId: 'htdemucs', format: 'wav', bits: 16, clipMode: 'rescale', twoStems: null, shifts: 0, device: 'cpu' },
    status: 'running',
    progress: 0.5,
    segmentsDone: 1,
    segmentsTotal: 2,
    etaSec: 1,
    provider: 'cpu',
    error: null,
    priority: 0,
    outputDir: out,
    durationSec: null,
    stems: [],
    createdAt: 0,
    startedAt: 0,
    finishedAt: null,
    readySamples: 1000,
    ...patch,
  };
  jobs.set(id, j);
  return j;
}

const core = {
  jobs: {
    get(id: string) {
      const j = jobs.get(id);
      if (!j) throw new Error('not found');
      return j;
    },
    mediaPath(id: string, stem: string) {
      const j = jobs.get(id);
      if (!j) return null;
      if (stem === 'mix') return j.inputPath;
      return j.stems.find((s) => s.name === stem)?.path ?? null;
    },
  },
} as unknown as Pick<ShellCore, 'jobs'>;

const get = async (id: string, stem: string, range: string | null, pcm: boolean) => {
  const r = await serveMedia(core, id, stem, { range, pcm, body: true });
  return r && { ...r, bytes: r.body ? await buffer(r.body) : Buffer.alloc(0) };
};

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'demix-media-pcm-'));
  out = path.join(root, 'out', 'song');
  mkdirSync(out, { recursive: true });
  // A running 16-bit job: the engine's float data goes to <stem>.wav.raw.<run tag>.partial (pool.ts tags each run).
  writeFileSync(path.join(out, 'drums.wav.raw.1a2b3c4d.partial'), Buffer.from(floats.buffer));
  job('run16', {});
  // A running float job: <stem>.wav.<run tag>.partial with a 44-byte placeholder header first.
  const out32 = path.join(root, 'out', 'song32');
  mkdirSync(out32, { recursive: true });
  writeFileSync(path.join(out32, 'bass.wav.9f8e7d6c.partial'), Buffer.concat([wavHeader({ sampleRate: 44100, channels: 2, bits: 32, float: true, dataBytes: 0 }), Buffer.from(floats.buffer)]));
  job('run32', { outputDir: out32, options: { ...job('x', {}).options, bits: 32 }, readySamples: 2500 });
  // A partial that is a link out of the job folder.
  writeFileSync(path.join(root, 'secret.raw'), Buffer.from(floats.buffer));
  symlinkSync(path.join(root, 'secret.raw'), path.join(out, 'escape.wav.raw.partial'));
  // Finished stems: a 16-bit wav and the same as flac; the input as wav.
  const i16 = Buffer.alloc(FRAMES * 4);
  for (let k = 0; k < 2 * FRAMES; k++) i16.writeInt16LE(Math.round(floats[k] * 32767 * 0.3), 2 * k);
  const wav16 = path.join(out, 'vocals.wav');
  writeFileSync(wav16, Buffer.concat([wavHeader({ sampleRate: 44100, channels: 2, bits: 16, float: false, dataBytes: i16.length }), i16]));
  execFileSync(resolveFfmpeg().path, ['-v', 'error', '-i', wav16, path.join(out, 'vocals.flac')]);
  writeFileSync(path.join(root, 'song.wav'), readFileSync(wav16));
  job('done', {
    status: 'done',
    readySamples: null,
    durationSec: FRAMES / 44100,
    stems: [
      { name: 'vocals', path: wav16, format: 'wav', durationSec: FRAMES / 44100 },
      { name: 'vflac', path: path.join(out, 'vocals.flac'), format: 'flac', durationSec: FRAMES / 44100 },
    ],
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('progressive media: a running stem', () => {
  it('serves a float WAV of exactly the ready prefix (header says so), bytes equal to the partial data', async () => {
    const r = (await get('run16', 'drums', null, false))!;
    expect(r.status).toBe(200);
    expect(r.headers['Content-Type']).toBe('audio/wav');
    expect(r.bytes.length).toBe(44 + 1000 * 8);
    expect(r.bytes.readUInt32LE(40)).toBe(1000 * 8);
    expect(r.bytes.readUInt16LE(20)).toBe(3); // IEEE float
    expect(r.bytes.subarray(44).equals(Buffer.from(floats.buffer, 0, 1000 * 8))).toBe(true);
  });

  it('Range never returns bytes past ready: clipped at the edge, 416 beyond it', async () => {
    const r = (await get('run16', 'drums', 'bytes=7000-', false))!;
    expect(r.status).toBe(206);
    expect(r.headers['Content-Range']).toBe(`bytes 7000-${44 + 8000 - 1}/${44 + 8000}`);
    expect(r.bytes.length).toBe(44 + 8000 - 7000);
    const beyond = (await get('run16', 'drums', 'bytes=9000-9999', false))!;
    expect(beyond.status).toBe(416);
    expect(beyond.bytes.length).toBe(0);
    // raw PCM: the same limit, in frames × 8 bytes
    const pcm = (await get('run16', 'drums', 'bytes=0-99999', true))!;
    expect(pcm.status).toBe(206);
    expect(pcm.bytes.equals(Buffer.from(floats.buffer, 0, 8000))).toBe(true);
    expect((await get('run16', 'drums', 'bytes=8000-8007', true))!.status).toBe(416);
  });

  it('grows as ready grows, and reads float wav partials after their placeholder header', async () => {
    jobs.set('run16', { ...jobs.get('run16')!, readySamples: 2000 });
    expect((await get('run16', 'drums', null, true))!.bytes.length).toBe(16000);
    const f = (await get('run32', 'bass', 'bytes=8-15', true))!;
    expect(new Float32Array(f.bytes.buffer, f.bytes.byteOffset, 2)).toEqual(new Float32Array([1 / 1e4, -1 / 1e4]));
    // ready beyond what is on disk is clipped to the file
    jobs.set('run32', { ...jobs.get('run32')!, readySamples: 10 * FRAMES });
    expect((await get('run32', 'bass', null, true))!.bytes.length).toBe(FRAMES * 8);
  });

  it('keeps the confinement rules: unknown stems, traversal, links out of the folder, nothing ready, not running', async () => {
    expect(await get('run16', 'bass', null, false)).toBeNull();
    expect(await get('run16', '../song/drums', null, false)).toBeNull();
    expect(await get('run16', 'escape', null, false)).toBeNull();
    jobs.set('r0', { ...jobs.get('run16')!, id: 'r0', readySamples: 0 });
    expect(await get('r0', 'drums', null, false)).toBeNull();
    jobs.set('q', { ...jobs.get('run16')!, id: 'q', status: 'queued' });
    expect(await get('q', 'drums', null, false)).toBeNull();
  });
});

describe('raw PCM of finished stems', () => {
  it('converts a 16-bit wav to float32 for any byte range, and leaves the plain form unchanged', async () => {
    const plain = (await get('done', 'vocals', 'bytes=0-43', false))!;
    expect(plain.status).toBe(206);
    expect(plain.bytes.toString('ascii', 0, 4)).toBe('RIFF');
    const all = (await get('done', 'vocals', null, true))!;
    expect(all.bytes.length).toBe(FRAMES * 8);
    const f = new Float32Array(all.bytes.buffer, all.bytes.byteOffset, 2 * FRAMES);
    for (const k of [0, 1, 777, 2 * FRAMES - 1]) expect(f[k]).toBeCloseTo((Math.round(floats[k] * 32767 * 0.3) / 32768), 6);
    // an unaligned range is the same bytes as the slice of the whole
    const part = (await get('done', 'vocals', 'bytes=1003-2050', true))!;
    expect(part.bytes.equals(all.bytes.subarray(1003, 2051))).toBe(true);
  });

  it('decodes flac (and the input) from the asked position with ffmpeg, to the same samples', async () => {
    const wav = (await get('done', 'vocals', null, true))!.bytes;
    const flac = (await get('done', 'vflac', 'bytes=8000-15999', true))!;
    expect(flac.status).toBe(206);
    expect(flac.bytes.equals(wav.subarray(8000, 16000))).toBe(true);
    const mix = (await get('done', 'mix', 'bytes=0-799', true))!;
    expect(mix.bytes.equals(wav.subarray(0, 800))).toBe(true);
  });

  it('is sample-exact far into a file too (seek before, trim at the exact sample)', async () => {
    const long = path.join(out, 'long.flac');
    execFileSync(resolveFfmpeg().path, ['-v', 'error', '-f', 'lavfi', '-i', 'anoisesrc=sample_rate=44100:duration=4:seed=7', '-ac', '2', long]);
    jobs.set('long', { ...jobs.get('done')!, id: 'long', durationSec: 4, stems: [{ name: 'v', path: long, format: 'flac', durationSec: 4 }] });
    const whole = (await get('long', 'v', null, true))!.bytes;
    expect(whole.length).toBe(4 * 44100 * 8);
    for (const f of [1, 999, 88200 + 7, 150_001]) {
      const part = (await get('long', 'v', `bytes=${f * 8}-${f * 8 + 8 * 300 - 1}`, true))!.bytes;
      expect(part.equals(whole.subarray(f * 8, f * 8 + 8 * 300))).toBe(true);
    }
  });

  it('reads WAV layouts', () => {
    expect(readWavLayout(path.join(out, 'vocals.wav'))).toEqual({ format: 1, channels: 2, sampleRate: 44100, bits: 16, dataOffset: 44, dataBytes: FRAMES * 4 });
  });
});

describe('progressive media: peaks of a running stem', () => {
  /** Expected: max |sample| over both channels per 256-frame block of the ready prefix, then per bucket. */
  const expected = (ready: number, buckets: number) => {
    const blocks: number[] = [];
    for (let b = 0; (b + 1) * 256 <= ready; b++) {
      let m = 0;
      for (let i = b * 512; i < (b + 1) * 512; i++) m = Math.max(m, Math.abs(floats[i]));
      blocks.push(m);
    }
    return Array.from({ length: buckets }, (_, i) => {
      const s = Math.floor((i * blocks.length) / buckets);
      const e = Math.max(s + 1, Math.floor(((i + 1) * blocks.length) / buckets));
      return Math.round(Math.max(0, ...blocks.slice(s, e)) * 10000) / 10000;
    });
  };

  it('covers the whole-block ready prefix, grows with ready, and concurrent calls agree with a serial one', async () => {
    const a = await partialPeaks(job('jpk', { readySamples: 1000 }), 'drums', 3);
    expect(a).toEqual({ durationSec: 768 / 44100, peaks: expected(1000, 3) });
    job('jpk', { readySamples: 2900 });
    const [b, c] = await Promise.all([partialPeaks(jobs.get('jpk')!, 'drums', 5), partialPeaks(jobs.get('jpk')!, 'drums', 5)]);
    expect(b).toEqual({ durationSec: 2816 / 44100, peaks: expected(2900, 5) });
    expect(c).toEqual(b);
    expect(await partialPeaks(job('jpk2', { readySamples: 2900 }), 'drums', 5)).toEqual(b); // fresh cache, same answer
    expect(await partialPeaks(job('jpk3', { readySamples: 0 }), 'drums', 5)).toBeNull();
  });
});

