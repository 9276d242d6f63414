/**
 * Hostile inputs (issue 9): each case ends in one clear line or a correct result, and the queue
 * is healthy afterwards. Decoding and encoding cases use the real ffmpeg through the engine's
 * decoder/encoder (the model adds nothing there); queue cases use the fake engine worker (a test
 * double). Full disks are real: a small tmpfs mounted per format (needs root; skipped with the
 * reason otherwise).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudio, probeAudio } from '../engine/decode.ts';
import { openAudioWriter } from '../engine/encode.ts';
import { resolveFfmpeg } from '../engine/ffmpeg.ts';
import { main } from './cli.ts';
import type { Core } from './core.ts';
import { FAKE_WORKER, fakeCore, fakeWorkerConfig, listFiles, makeInputs, tempDir, waitFor, waitIdle, waitStatus } from '../testing/test-harness.ts';

const ff = resolveFfmpeg().path;
const dir = tempDir('demix-hostile-');
function gen(name: string, args: string[]): string {
  const out = path.join(dir, name);
  const r = spawnSync(ff, ['-v', 'error', '-y', ...args, out]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${name}: ${r.stderr}`);
  return out;
}

type Outcome = { ok: true; frames: number; sampleRate: number; durationSec: number | null; maxAbs: number } | { ok: false; code: string; message: string };

/** Probes and decodes like the engine does (44.1 kHz stereo float). */
async function decodeAll(file: string): Promise<Outcome> {
  try {
    const info = await probeAudio(file);
    let samples = 0;
    let maxAbs = 0;
    for await (const chunk of decodeAudio(file, { expectedDurationSec: info.durationSec })) {
      samples += chunk.length;
      for (let i = 0; i < chunk.length; i++) {
        const a = Math.abs(chunk[i]);
        if (Number.isNaN(a)) throw new Error('NaN in decoded audio');
        if (a > maxAbs) maxAbs = a;
      }
    }
    return { ok: true, frames: samples / 2, sampleRate: info.sampleRate, durationSec: info.durationSec, maxAbs };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { ok: false, code: err.code ?? 'UNCODED', message: err.message };
  }
}

/** One clear line: non-empty, a single line, not a stack or raw ffmpeg dump, with a coded error. */
function expectOneLine(o: Outcome, codes: string[]) {
  expect(o.ok, JSON.stringify(o)).toBe(false);
  if (o.ok) return;
  expect(codes).toContain(o.code);
  expect(o.message.length).toBeGreaterThan(10);
  expect(o.message).not.toMatch(/\n|\bat \w+ \(|Error:/);
}

describe('hostile inputs: decoding (real ffmpeg)', () => {
  const f: Record<string, string> = {};
  beforeAll(() => {
    f.empty = path.join(dir, 'empty.mp3');
    fs.writeFileSync(f.empty, '');
    f.text = path.join(dir, 'notes.mp3');
    fs.writeFileSync(f.text, 'these are not the droids\n'.repeat(200));
    const mp3 = gen('full.mp3', ['-f', 'lavfi', '-i', 'sine=f=440:d=4', '-ac', '2', '-b:a', '128k']);
    const bytes = fs.readFileSync(mp3);
    f.truncated = path.join(dir, 'truncated.mp3');
    fs.writeFileSync(f.truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const wav = gen('lying.wav', ['-f', 'lavfi', '-i', 'sine=f=440:d=1', '-ac', '2', '-c:a', 'pcm_s16le']);
    const w = fs.readFileSync(wav);
    w.writeUInt32LE(44100 * 4 * 60, 40); // data chunk claims 60 s; 1 s is there
    w.writeUInt32LE(36 + 44100 * 4 * 60, 4);
    fs.writeFileSync(wav, w);
    f.lying = wav;
    f.tiny = gen('tiny.wav', ['-f', 'lavfi', '-i', 'sine=f=440:d=0.01', '-ac', '2']);
    f.silence = gen('silence.flac', ['-f', 'lavfi', '-i', 'anullsrc=r=44100:cl=stereo', '-t', '2']);
    f.lowMono = gen('8k-mono.wav', ['-f', 'lavfi', '-i', 'sine=f=300:d=2:sample_rate=8000', '-ac', '1']);
    f.hi51 = gen('192k-5.1.flac', ['-f', 'lavfi', '-i', 'sine=f=300:d=1:sample_rate=192000', '-af', 'aformat=channel_layouts=5.1', '-ar', '192000']);
    f.opus = gen('clip.opus', ['-f', 'lavfi', '-i', 'sine=f=440:d=2', '-ac', '2', '-c:a', 'libopus']);
    f.m4a = gen('clip.m4a', ['-f', 'lavfi', '-i', 'sine=f=440:d=2', '-ac', '2', '-c:a', 'aac']);
    f.unicode = gen(`Ünïcødé "quoted" 'and' spaced — 曲.flac`, ['-f', 'lavfi', '-i', 'sine=f=440:d=1', '-ac', '2']);
  }, 60_000);

  it('1. empty file → one line', async () => expectOneLine(await decodeAll(f.empty), ['INPUT_EMPTY']));
  it('2. text renamed .mp3 → one line', async () => expectOneLine(await decodeAll(f.text), ['NOT_AUDIO', 'DECODE_FAILED', 'NO_AUDIO_STREAM']));
  it('3. truncated mp3 → one line saying so, or the audio that is there', async () => {
    const o = await decodeAll(f.truncated);
    if (o.ok) expect(o.frames).toBeGreaterThan(0);
    else expectOneLine(o, ['DECODE_FAILED']);
  });
  it('4. wav header that lies about its length → one line, or the second that is really there', async () => {
    const o = await decodeAll(f.lying);
    if (o.ok) expect(Math.abs(o.frames - 44100)).toBeLessThan(2048);
    else expectOneLine(o, ['DECODE_FAILED', 'NOT_AUDIO']);
  });
  it('4b. wav whose format chunk is garbage → one line saying the header is damaged', async () => {
    const bogus = path.join(path.dirname(f.text), 'bogus-header.wav');
    // A random fmt chunk seen in the wild here: ffmpeg reads "extradata of size 32713" and fails with ENOMEM.
    const head = '52494646ffffff7f57415645666d7420946a8441331989afed6ce032084aaa1d6a7808f5c97fd1b1';
    fs.writeFileSync(bogus, Buffer.concat([Buffer.from(head, 'hex'), Buffer.alloc(1972)]));
    const o = await decodeAll(bogus);
    expectOneLine(o, ['DECODE_FAILED', 'NOT_AUDIO']);
    if (!o.ok) expect(o.message).not.toMatch(/allocate memory/);
  });
  it('5. 0.01 s of audio → decoded (441 frames)', async () => {
    const o = await decodeAll(f.tiny);
    expect(o.ok && Math.abs(o.frames - 441) <= 64).toBe(true);
  });
  it('6. silence → decoded, all zeros, no NaN', async () => {
    const o = await decodeAll(f.silence);
    expect(o).toMatchObject({ ok: true, maxAbs: 0 });
    expect(o.ok && Math.abs(o.frames - 88200) < 2048).toBe(true);
  });
  it('7. 8 kHz mono → 44.1 kHz stereo of the same length', async () => {
    const o = await decodeAll(f.lowMono);
    expect(o).toMatchObject({ ok: true, sampleRate: 8000 });
    expect(o.ok && Math.abs(o.frames - 88200) < 2048 && o.maxAbs > 0.05).toBe(true);
  });
  it('8. 192 kHz 5.1 → 44.1 kHz stereo of the same length', async () => {
    const o = await decodeAll(f.hi51);
    expect(o).toMatchObject({ ok: true, sampleRate: 192000 });
    expect(o.ok && Math.abs(o.frames - 44100) < 2048 && o.maxAbs > 0.01).toBe(true);
  });
  it('9. opus → decoded', async () => {
    const o = await decodeAll(f.opus);
    expect(o.ok && Math.abs(o.frames - 88200) < 4096 && o.maxAbs > 0.05).toBe(true);
  });
  it('10. m4a (AAC) → decoded', async () => {
    const o = await decodeAll(f.m4a);
    expect(o.ok && Math.abs(o.frames - 88200) < 4096 && o.maxAbs > 0.05).toBe(true);
  });
  it('11. unicode, quotes and spaces in the name → decoded', async () => {
    const o = await decodeAll(f.unicode);
    expect(o.ok && Math.abs(o.frames - 44100) < 2048).toBe(true);
  });
  it('12. a 3-hour file: probed at once from its header (streamed, never loaded whole)', async () => {
    const long = gen('three-hours.flac', ['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '10800', '-compression_level', '0']);
    const info = await probeAudio(long);
    expect(Math.abs((info.durationSec ?? 0) - 10800)).toBeLessThan(1);
  }, 120_000);
});

describe('hostile inputs: output side (real encoder)', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', [m]);
  });
  const isRoot = process.getuid?.() === 0 && process.platform === 'linux';
  for (const [format, bits] of [['wav', 16], ['wav', 32], ['flac', 24], ['mp3', 16]] as const) {
    it.runIf(isRoot)(`13. full disk while writing ${format} ${bits} → DISK_FULL in one line, no partials (tmpfs of 256 KiB)`, async () => {
      const m = tempDir('demix-full-');
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', m]);
      if (r.status !== 0) throw new Error(`cannot mount a tmpfs as root: ${r.stderr}`);
      mounts.push(m);
      const block = new Float32Array(44100 * 2);
      for (let i = 0; i < block.length; i++) block[i] = 0.5 * Math.sin(i / 7) + 0.3 * Math.sin(i / 3.1);
      let err: { code?: string; message: string } | null = null;
      try {
        const w = await openAudioWriter(path.join(m, `vocals.${format}`), { format, bits });
        try {
          for (let s = 0; s < 10; s++) await w.write(block);
          await w.finish();
        } catch (e) {
          await w.abort();
          throw e;
        }
      } catch (e) {
        err = e as { code?: string; message: string };
      }
      expect(err?.code).toBe('DISK_FULL');
      expect(err!.message).toMatch(/disk is full/i);
      expect(err!.message).not.toContain('\n');
      expect(fs.readdirSync(m)).toEqual([]);
    });
  }
  it('14. output folder removed while a stem is being written → one line, nothing left', async () => {
    const d = tempDir('demix-gone-');
    const w = await openAudioWriter(path.join(d, 'job', 'x.flac').replace(`${path.sep}job`, ''), { format: 'flac', bits: 16 });
    await w.write(new Float32Array(44100));
    fs.rmSync(d, { recursive: true, force: true });
    const err = await w.finish().then(
      () => null,
      (e: { code?: string; message: string }) => e,
    );
    expect(err?.code).toMatch(/OUTPUT_UNWRITABLE|INTERNAL|INPUT_NOT_FOUND/);
    expect(err!.message).not.toContain('\n');
    expect(fs.existsSync(d)).toBe(false);
  });
});

describe('hostile inputs: the queue (fake engine worker)', () => {
  let core: Core;
  const root = tempDir('demix-hostile-q-');
  beforeAll(async () => {
    fakeWorkerConfig({ segments: 3, segmentMs: 20, stemSeconds: 0.01 });
    core = await fakeCore(path.join(root, 'data'));
  });
  afterAll(() => core.close());
  const out = path.join(root, 'out');

  it('15-18. at add: empty, a FIFO → one line each; a symlink loop is walked once; a folder named x.mp3 is a folder', async () => {
    const bad = path.join(root, 'bad');
    fs.mkdirSync(bad);
    fs.writeFileSync(path.join(bad, 'empty.mp3'), '');
    spawnSync('mkfifo', [path.join(bad, 'pipe.mp3')]);
    const loop = path.join(root, 'loop');
    fs.mkdirSync(loop);
    fs.symlinkSync(loop, path.join(loop, 'again'));
    makeInputs(loop, ['inside.mp3']);
    const folderMp3 = path.join(root, 'x.mp3');
    makeInputs(folderMp3, ['real.mp3']);
    fs.writeFileSync(path.join(bad, 'lyrics.mp3'), 'these are my lyric notes, saved with the wrong name\n'.repeat(20));
    fs.writeFileSync(path.join(bad, 'cover.flac'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(100, 7)]));
    const res = await core.jobs.addPaths(
      [path.join(bad, 'empty.mp3'), path.join(bad, 'pipe.mp3'), path.join(bad, 'lyrics.mp3'), path.join(bad, 'cover.flac'), loop, folderMp3],
      { outputDir: out },
    );
    const reasons = Object.fromEntries(res.rejected.map((r) => [path.basename(r.path), r.reason]));
    expect(reasons['empty.mp3']).toMatch(/empty \(0 bytes\)/);
    expect(reasons['pipe.mp3']).toMatch(/Not a regular file \(a pipe, socket or device\): choose an audio file/);
    // Named like audio, refused at add (not at decode) with what they really are.
    expect(reasons['lyrics.mp3']).toBe('Named like audio but holds text, not sound: choose the real audio file.');
    expect(reasons['cover.flac']).toBe('Named like audio but holds a PNG image, not sound: choose the real audio file.');
    for (const r of Object.values(reasons)) expect(r).not.toContain('\n');
    // The loop is walked once (the looping link is not followed forever), the x.mp3 folder is scanned.
    expect(res.jobs.map((j) => j.name).sort()).toEqual(['inside.mp3', 'real.mp3']);
    await waitIdle(core);
    expect(core.jobs.getMany(res.jobs.map((j) => j.id)).map((j) => j.status)).toEqual(['done', 'done']);
  });

  it('19. a file deleted while queued → its job fails in one line; the others finish', async () => {
    core.queue.pause();
    const inputs = makeInputs(root, ['q/one.mp3', 'q/gone.mp3', 'q/three.mp3']);
    const { jobs } = await core.jobs.addPaths(inputs, { outputDir: out });
    fs.rmSync(inputs[1]);
    core.queue.resume();
    await waitIdle(core);
    const [a, gone, c] = core.jobs.getMany(jobs.map((j) => j.id));
    expect(gone.status).toBe('failed');
    expect(gone.error?.code).toBe('INPUT_NOT_FOUND');
    expect(gone.error?.message).toMatch(/is gone \(moved or deleted after it was added\)/);
    expect([a.status, c.status]).toEqual(['done', 'done']);
  });

  it('20. an output path that is a file → one line from the CLI, exit 1, nothing created', async () => {
    const file = path.join(root, 'iam-a-file');
    fs.writeFileSync(file, 'x');
    const [input] = makeInputs(root, ['cli/in.mp3']);
    const errS = new PassThrough();
    let err = '';
    errS.on('data', (d) => (err += d));
    const code = await main(['node', 'demix', 'separate', input, '-o', path.join(file, 'out'), '--data-dir', path.join(root, 'cli-data')], { out: new PassThrough(), err: errS, workerScript: FAKE_WORKER });
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/is a file, not a folder/);
    expect(fs.existsSync(path.join(root, 'cli-data'))).toBe(false);
  });

  it('21. a 3-hour file is accepted, runs, and cancels promptly; the queue goes on', async () => {
    fakeWorkerConfig({ segments: 2000, segmentMs: 20, stemSeconds: 0.01 });
    const long = path.join(dir, 'three-hours.flac');
    if (!fs.existsSync(long)) gen('three-hours.flac', ['-f', 'lavfi', '-i', 'anullsrc=r=8000:cl=mono', '-t', '10800', '-compression_level', '0']);
    const { jobs } = await core.jobs.addPaths([long], { outputDir: out });
    expect(jobs).toHaveLength(1);
    const running = await waitStatus(core, jobs[0].id, 'running');
    await waitFor(() => core.jobs.get(running.id).etaSec !== null, 20_000, 'an ETA');
    expect(core.jobs.get(running.id).etaSec).toBeGreaterThan(0);
    core.jobs.cancel(running.id);
    await waitIdle(core, 20_000);
    expect(core.jobs.get(running.id).status).toBe('canceled');
    fakeWorkerConfig({ segments: 3, segmentMs: 20, stemSeconds: 0.01 });
  }, 60_000);

  it('afterwards the queue is healthy: a good file separates, no partials anywhere', async () => {
    const [input] = makeInputs(root, ['after/fine.mp3']);
    const { jobs } = await core.jobs.addPaths([input], { outputDir: out });
    await waitIdle(core);
    expect(core.jobs.get(jobs[0].id).status).toBe('done');
    expect(listFiles(out).filter((x) => x.includes('.partial'))).toEqual([]);
    expect(core.queue.state()).toMatchObject({ queued: 0, running: 0 });
  });
});
