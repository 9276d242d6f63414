/**
 * Decoding any audio ffmpeg can read to interleaved stereo float32 at the model's rate,
 * streamed from an ffmpeg child process (the whole track is never held in memory).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { DemixError } from './errors.ts';
import { resolveFfmpeg } from './ffmpeg.ts';
import { spawnTool } from './tool-spawn.ts';

export interface ProbeInfo {
  /** From the container/header; null when ffmpeg cannot tell. */
  durationSec: number | null;
  channels: number;
  sampleRate: number;
  codec: string;
}

function checkInputFile(file: string): void {
  const name = path.basename(file);
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new DemixError('INPUT_NOT_FOUND', `${file}: cannot be read (permission denied): check the file's permissions.`);
    throw new DemixError('INPUT_NOT_FOUND', `${file}: no such file: check the path (it may have been moved or deleted).`);
  }
  if (st.isDirectory()) throw new DemixError('INPUT_IS_FOLDER', `${file} is a folder: add the folder itself to separate every song in it.`);
  if (st.size === 0) throw new DemixError('INPUT_EMPTY', `${name} is empty (0 bytes): the file is damaged or was not copied completely; use another copy.`);
}

function classifyFfmpegError(file: string, stderr: string): DemixError {
  const name = path.basename(file);
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  if (/Invalid data found when processing input|could not find codec parameters|Failed to read frame size|Format .* detected only with low score/i.test(stderr)) {
    return new DemixError('NOT_AUDIO', `${name} is not an audio file ffmpeg can read: check that it really is audio (not renamed), or convert it to wav/flac.`);
  }
  if (/matches no streams|does not contain any stream|no audio stream/i.test(stderr)) {
    return new DemixError('NO_AUDIO_STREAM', `${name} has no audio track: choose a file with sound in it.`);
  }
  if (/Cannot allocate memory|Failed to read extradata|invalid (wav|riff|fmt|header)|chunk size/i.test(stderr)) {
    // e.g. a WAV header whose chunk sizes are garbage: ffmpeg tries to allocate what it claims.
    return new DemixError('DECODE_FAILED', `${name}'s header is damaged (it describes data the file does not hold): re-export or convert the file from its source.`);
  }
  if (/No such file or directory/i.test(stderr)) return new DemixError('INPUT_NOT_FOUND', `${file}: no such file: check the path.`);
  if (/Permission denied/i.test(stderr)) return new DemixError('INPUT_NOT_FOUND', `${file}: cannot be read (permission denied): check the file's permissions.`);
  const last = lines.filter((l) => !/^\s*(Stream|Input|Duration|Metadata)/.test(l)).pop() ?? 'unknown error';
  return new DemixError('DECODE_FAILED', `${name} could not be decoded (${last.slice(0, 200)}): the file may be damaged; try re-exporting or converting it.`);
}

/** Reads duration, channels, rate and codec of the first audio stream (no decoding). */
export async function probeAudio(file: string): Promise<ProbeInfo> {
  checkInputFile(file);
  const ff = resolveFfmpeg();
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawnTool(ff.path, ['-hide_banner', '-nostdin', '-i', file], ['ignore', 'ignore']);
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (err.length < 64_000) err += d;
    });
    child.on('error', reject);
    child.on('close', () => resolve(err));
  });
  const audio = /Stream #\d+:\d+(?:\[[^\]]*\])?(?:\([^)]*\))?: Audio: ([^,\s]+)[^,]*, (\d+) Hz, ([^,]+)/.exec(stderr);
  if (!audio) {
    if (/Input #0/.test(stderr) && !/Invalid data/i.test(stderr)) throw new DemixError('NO_AUDIO_STREAM', `${path.basename(file)} has no audio track: choose a file with sound in it.`);
    throw classifyFfmpegError(file, stderr);
  }
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const layout = audio[3].trim();
  const channels = /mono/.test(layout) ? 1 : /stereo/.test(layout) ? 2 : /5\.1/.test(layout) ? 6 : /7\.1/.test(layout) ? 8 : Number(/(\d+) channels/.exec(layout)?.[1] ?? 2);
  return {
    durationSec: d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : null,
    channels,
    sampleRate: Number(audio[2]),
    codec: audio[1],
  };
}

export interface DecodeOptions {
  signal?: AbortSignal;
  sampleRate?: number;
  channels?: number;
  /**
   * Duration the header announced (from probeAudio): a stream that ends much earlier is reported
   * as truncated instead of being separated silently short.
   */
  expectedDurationSec?: number | null;
}

/**
 * Streams the first audio track as interleaved float32 frames (downmixed/upmixed to `channels`,
 * resampled to `sampleRate`). Throws DemixError for unreadable, non-audio, empty or truncated input.
 */
export async function* decodeAudio(file: string, opts: DecodeOptions = {}): AsyncGenerator<Float32Array> {
  checkInputFile(file);
  const sampleRate = opts.sampleRate ?? 44100;
  const channels = opts.channels ?? 2;
  const ff = resolveFfmpeg();
  opts.signal?.throwIfAborted();
  const child = spawnTool(
    ff.path,
    ['-hide_banner', '-nostdin', '-v', 'error', '-i', file, '-map', '0:a:0', '-vn', '-sn', '-dn', '-f', 'f32le', '-acodec', 'pcm_f32le', '-ac', String(channels), '-ar', String(sampleRate), 'pipe:1'],
    ['ignore', 'pipe'],
  );
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 64_000) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const onAbort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const frameBytes = 4 * channels;
  let carry: Buffer | null = null;
  let frames = 0;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let buf: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      const usable: number = buf.length - (buf.length % frameBytes);
      carry = usable < buf.length ? Buffer.from(buf.subarray(usable)) : null;
      if (usable === 0) continue;
      buf = buf.subarray(0, usable);
      const out = new Float32Array(usable / 4);
      new Uint8Array(out.buffer).set(buf);
      frames += out.length / channels;
      yield out;
    }
    const code = await exited;
    opts.signal?.throwIfAborted();
    if (code !== 0) throw classifyFfmpegError(file, stderr);
    const name = path.basename(file);
    if (frames === 0) throw new DemixError('INPUT_EMPTY', `${name} contains no audio samples (zero length): export the song again.`);
    const expected = opts.expectedDurationSec;
    const got = frames / sampleRate;
    if (expected && got < expected * 0.9 - 0.5) {
      throw new DemixError('DECODE_FAILED', `${name} looks truncated or damaged: only ${got.toFixed(1)} s of its ${expected.toFixed(1)} s could be decoded; use a complete copy of the file.`);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
