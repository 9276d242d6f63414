import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeCore, type FakeCore } from '../testing/fake-core.ts';
import { mediaType, parseRange, resolveMedia, serveRange, splitMediaPath } from './media.ts';

let root: string;
let core: FakeCore;
let out: string;
let vocals: string;
const content = Array.from({ length: 2000 }, (_, i) => String.fromCharCode(65 + (i % 26))).join('');

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'demix-media-'));
  out = path.join(root, 'separated', 'htdemucs', 'song');
  mkdirSync(out, { recursive: true });
  vocals = path.join(out, 'vocals.wav');
  writeFileSync(vocals, content);
  writeFileSync(path.join(out, 'drums.wav'), 'drums');
  writeFileSync(path.join(root, 'secret.txt'), 'top secret');
  writeFileSync(path.join(root, 'song.mp3'), 'original');
  symlinkSync(path.join(root, 'secret.txt'), path.join(out, 'escape.wav'));
  symlinkSync(vocals, path.join(out, 'alias.wav')); // a link that stays inside is fine
  core = createFakeCore({ dataDir: root });
  core.seedDoneJob({
    id: 'j1',
    inputPath: path.join(root, 'song.mp3'),
    outputDir: out,
    stems: { vocals, drums: path.join(out, 'drums.wav'), escape: path.join(out, 'escape.wav'), alias: path.join(out, 'alias.wav') },
  });
  // A job whose recorded stem points outside its folder (a corrupted or malicious DB row).
  core.seedDoneJob({ id: 'j2', inputPath: path.join(root, 'song.mp3'), outputDir: out, stems: { vocals: path.join(root, 'secret.txt') } });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveMedia', () => {
  it('serves a stem owned by the job and the job input as "mix"', async () => {
    expect(await resolveMedia(core, 'j1', 'vocals')).toBe(vocals);
    expect(await resolveMedia(core, 'j1', 'mix')).toBe(path.join(root, 'song.mp3'));
    expect(await resolveMedia(core, 'j1', 'alias')).toBe(vocals);
  });

  it('unknown job or stem → null (404)', async () => {
    expect(await resolveMedia(core, 'nope', 'vocals')).toBeNull();
    expect(await resolveMedia(core, 'j1', 'bass')).toBeNull();
  });

  it('rejects traversal, plain or percent-encoded', async () => {
    expect(await resolveMedia(core, 'j1', '../../../secret.txt')).toBeNull();
    expect(await resolveMedia(core, 'j1', '..')).toBeNull();
    const encoded = splitMediaPath('/j1/%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt');
    expect(encoded).toEqual({ jobId: 'j1', stem: '../../../secret.txt' });
    expect(await resolveMedia(core, encoded!.jobId, encoded!.stem)).toBeNull();
    expect(splitMediaPath('/j1/../../secret.txt')).toBeNull();
    expect(splitMediaPath('/j1/%E0%A4%A')).toBeNull();
  });

  it('rejects a symlink escaping the job folder and a stem recorded outside it', async () => {
    expect(await resolveMedia(core, 'j1', 'escape')).toBeNull();
    expect(await resolveMedia(core, 'j2', 'vocals')).toBeNull();
  });

  it('rejects the job folder itself and names with NUL or backslashes', async () => {
    expect(await resolveMedia(core, 'j1', '.')).toBeNull();
    expect(await resolveMedia(core, 'j1', 'a\0b')).toBeNull();
    expect(await resolveMedia(core, 'j1', '..\\..\\secret.txt')).toBeNull();
  });
});

describe('parseRange', () => {
  it('understands single byte ranges', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-0', 100)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=10-19', 100)).toEqual({ start: 10, end: 19 });
    expect(parseRange('bytes=90-', 100)).toEqual({ start: 90, end: 99 });
    expect(parseRange('bytes=-30', 100)).toEqual({ start: 70, end: 99 });
    expect(parseRange('bytes=-300', 100)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=50-500', 100)).toEqual({ start: 50, end: 99 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeNull();
    expect(parseRange('items=0-1', 100)).toBeNull();
    expect(parseRange('bytes=9-3', 100)).toBeNull();
  });
});

describe('serveRange', () => {
  it('whole file → 200 with length and type', async () => {
    const res = await serveRange(vocals, null);
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ 'Content-Length': '2000', 'Accept-Ranges': 'bytes', 'Content-Type': 'audio/wav' });
    expect(await text(res.body!)).toBe(content);
  });

  it('first byte', async () => {
    const res = await serveRange(vocals, 'bytes=0-0');
    expect(res.status).toBe(206);
    expect(res.headers['Content-Range']).toBe('bytes 0-0/2000');
    expect(res.headers['Content-Length']).toBe('1');
    expect(await text(res.body!)).toBe('A');
  });

  it('middle', async () => {
    const res = await serveRange(vocals, 'bytes=1000-1009');
    expect(res.status).toBe(206);
    expect(res.headers['Content-Range']).toBe('bytes 1000-1009/2000');
    expect(await text(res.body!)).toBe(content.slice(1000, 1010));
  });

  it('suffix', async () => {
    const res = await serveRange(vocals, 'bytes=-500');
    expect(res.status).toBe(206);
    expect(res.headers['Content-Range']).toBe('bytes 1500-1999/2000');
    expect(res.headers['Content-Length']).toBe('500');
    expect(await text(res.body!)).toBe(content.slice(1500));
  });

  it('open-ended', async () => {
    const res = await serveRange(vocals, 'bytes=1990-');
    expect(res.status).toBe(206);
    expect(await text(res.body!)).toBe(content.slice(1990));
  });

  it('out of range → 416 with the size', async () => {
    const res = await serveRange(vocals, 'bytes=2000-2100');
    expect(res.status).toBe(416);
    expect(res.headers['Content-Range']).toBe('bytes */2000');
    expect(res.body).toBeNull();
  });

  it('maps extensions to audio MIME types', () => {
    expect(mediaType('/a/b.FLAC')).toBe('audio/flac');
    expect(mediaType('/a/b.mp3')).toBe('audio/mpeg');
    expect(mediaType('/a/b.opus')).toBe('audio/ogg');
    expect(mediaType('/a/b.bin')).toBe('application/octet-stream');
  });
});
