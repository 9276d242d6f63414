// The in-process WAV reader of the GPU-machine bundle (scripts/gpu-wav-decode.ts) must give the
// same samples as the engine's ffmpeg decoder, and leave every other file to ffmpeg.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ffmpeg from '../engine/decode.ts';
import { wavHeader } from '../engine/encode.ts';
import { decodeAudio, probeAudio, readWavLayout } from './gpu-wav-decode.ts';
import { collectSamples } from '../engine/samples.test-support.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'demix-wavdec-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const all = collectSamples;

/** 50 000 stereo frames of a two-tone signal (more than one read chunk). */
function signal(frames = 50_000): Float32Array {
  const x = new Float32Array(2 * frames);
  for (let i = 0; i < frames; i++) {
    x[2 * i] = 0.6 * Math.sin((2 * Math.PI * 440 * i) / 44100);
    x[2 * i + 1] = 0.4 * Math.sin((2 * Math.PI * 97 * i) / 44100);
  }
  return x;
}

function writeWav(name: string, x: Float32Array, bits: 16 | 32, sampleRate = 44100): string {
  const file = path.join(tmp, name);
  let data: Buffer;
  if (bits === 32) data = Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  else {
    data = Buffer.alloc(2 * x.length);
    for (let i = 0; i < x.length; i++) data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(x[i] * 32768))), 2 * i);
  }
  writeFileSync(file, Buffer.concat([wavHeader({ sampleRate, channels: 2, bits, float: bits === 32, dataBytes: data.length }), data]));
  return file;
}

describe('in-process WAV decoding for the GPU bundle', () => {
  for (const bits of [16, 32] as const) {
    it(`reads ${bits}-bit stereo wav exactly as ffmpeg does`, async () => {
      const file = writeWav(`s${bits}.wav`, signal(), bits);
      expect(readWavLayout(file)).toMatchObject({ bits, channels: 2, sampleRate: 44100 });
      const [ours, theirs] = await Promise.all([all(decodeAudio(file)), all(ffmpeg.decodeAudio(file))]);
      expect(ours.length).toBe(100_000);
      expect(ours.length).toBe(theirs.length);
      let maxDiff = 0;
      for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
      expect(maxDiff).toBe(0);
      const info = await probeAudio(file);
      expect(info.durationSec).toBeCloseTo(50_000 / 44100, 6);
      expect(info.channels).toBe(2);
    });
  }

  it('leaves a wav at another rate to ffmpeg (resampled to the requested rate)', async () => {
    const file = writeWav('r48.wav', signal(48_000), 32, 48000);
    expect(readWavLayout(file)?.sampleRate).toBe(48000);
    const out = await all(decodeAudio(file, { sampleRate: 44100, channels: 2 }));
    expect(Math.abs(out.length / 2 - 44100)).toBeLessThan(50);
  });

  it('is not used for other files', () => {
    const flac = path.join(tmp, 'x.flac');
    writeFileSync(flac, 'fLaC');
    expect(readWavLayout(flac)).toBeNull();
    const junk = path.join(tmp, 'junk.wav');
    writeFileSync(junk, 'not a wav at all');
    expect(readWavLayout(junk)).toBeNull();
  });
});
