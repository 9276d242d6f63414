// Browser uploads through the web bridge on the REAL core (SQLite store + queue), with the
// queue's fake engine worker (a test double) instead of the ONNX model.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createWebClient, type WebClient, type WebSocketCtor } from '../../preload/web-client.ts';
import type { Core } from '../core.ts';
import { fakeCore, fakeWorkerConfig, listFiles, tempDir, waitFor, waitStatus } from '../../testing/test-harness.ts';
import { pruneUploads, safeRelativePath, uploadsRoot } from '../uploads.ts';
import { startBridge, type Bridge } from './server.ts';

const TOKEN = 'upload-token-1234567890';
let root: string;
let dataDir: string;
let core: Core;
let bridge: Bridge;
let api: WebClient;
let seq = 0;

/** A fake FLAC (magic bytes + distinct filler); the fake engine never decodes it. */
function flacBytes(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  b.write('fLaC', 0, 'latin1');
  for (let i = 4; i < size; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

const newId = () => `upl-${process.pid}-${++seq}-abcdef`;

function put(uploadId: string, name: string, body: Buffer | string, token: string | null = TOKEN) {
  return fetch(`${base()}/api/upload/${uploadId}?path=${encodeURIComponent(name)}`, {
    method: 'PUT',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
}
const base = () => `http://127.0.0.1:${bridge.port}`;

/** Every file (partials included) under the uploads area. */
const uploadedFiles = () => listFiles(uploadsRoot(dataDir));

beforeAll(async () => {
  fakeWorkerConfig({ segments: 2, segmentMs: 10, stemSeconds: 0.1 });
  root = tempDir('demix-upload-');
  dataDir = path.join(root, 'data');
  core = await fakeCore(dataDir);
  core.settings.set({ outputDir: path.join(root, 'out') });
  bridge = await startBridge({ core, token: TOKEN, rendererDir: path.join(root, 'no-ui'), appVersion: '1.0.0', log: () => {} });
  api = createWebClient({ baseUrl: base(), token: TOKEN, WebSocket: WebSocket as unknown as WebSocketCtor });
});
afterAll(async () => {
  api?.close();
  await bridge?.close();
  await core?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('upload names', () => {
  it('keeps plain names and folder paths, refuses traversal, absolute names, NUL and control characters', () => {
    expect(safeRelativePath('song.flac')).toEqual(['song.flac']);
    expect(safeRelativePath('Album/CD 1/01 Intro.mp3')).toEqual(['Album', 'CD 1', '01 Intro.mp3']);
    expect(safeRelativePath('Album\\02.mp3')).toEqual(['Album', '02.mp3']);
    expect(safeRelativePath('a/.hidden.flac')).toEqual(['a', '_hidden.flac']);
    expect(safeRelativePath('what?.flac')).toEqual(['what_.flac']);
    for (const bad of ['../../x.flac', 'a/../../x.flac', '..', '/etc/passwd', '\\\\server\\share\\x.flac', 'C:\\x.flac', 'c:x.flac', 'a\u0000.flac', 'a\n.flac', '', 'a//b.flac', './x.flac']) {
      expect(() => safeRelativePath(bad), JSON.stringify(bad)).toThrow(/Refused the file name/);
    }
  });
});

describe('PUT /api/upload', () => {
  it('needs the token (401) and keeps nothing', async () => {
    const id = newId();
    const res = await put(id, 'song.flac', flacBytes(1000), null);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringMatching(/token/) } });
    expect((await put(id, 'song.flac', flacBytes(1000), 'wrong-token-123456789')).status).toBe(401);
    expect(fs.existsSync(path.join(uploadsRoot(dataDir), id))).toBe(false);
  });

  it('streams the body to disk while it arrives, then enqueues it and separates it', async () => {
    const id = newId();
    const chunk = flacBytes(256 * 1024, 3);
    const total = chunk.length * 4;
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: bridge.port, method: 'PUT', path: `/api/upload/${id}?path=${encodeURIComponent('My Song.flac')}`, headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Length': total } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      void (async () => {
        for (let i = 0; i < 4; i++) {
          req.write(chunk);
          // The bytes sent so far are on disk (in a partial file) before the next chunk is sent.
          const want = chunk.length * (i + 1);
          await waitFor(() => uploadedFiles().some((f) => f.endsWith('.partial') && fs.statSync(f).size >= want), 10_000, `${want} bytes on disk`);
        }
        req.end();
      })().catch(reject);
    });
    const res = await answer;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toEqual({ ok: true, value: { uploadId: id, path: 'My Song.flac', size: total } });
    const stored = path.join(uploadsRoot(dataDir), id, 'My Song.flac');
    expect(fs.readFileSync(stored).equals(Buffer.concat([chunk, chunk, chunk, chunk]))).toBe(true);
    expect(uploadedFiles().filter((f) => f.endsWith('.partial'))).toEqual([]);

    const added = await api.invoke('jobs:add-upload', { uploadId: id });
    expect(added.jobs).toHaveLength(1);
    expect(added.jobs[0]).toMatchObject({ name: 'My Song.flac', inputPath: stored, batchId: null });
    const done = await waitStatus(core, added.jobs[0].id, 'done');
    // Stems go to the configured output folder as usual.
    expect(done.outputDir).toBe(path.join(root, 'out', 'htdemucs', 'My Song'));
    expect(done.stems.map((s) => s.name).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);
    // The original stays while the job is in the history, and goes with it.
    expect(fs.existsSync(stored)).toBe(true);
    await core.jobs.remove(done.id, false);
    expect(fs.existsSync(stored)).toBe(false);
    expect(fs.existsSync(path.join(uploadsRoot(dataDir), id))).toBe(false);
    expect(fs.existsSync(done.stems[0].path)).toBe(true);
  });

  it('refuses a file over the size limit with 413 and a clear message, keeping nothing', async () => {
    core.settings.set({ maxUploadBytes: 64 * 1024 });
    try {
      const id = newId();
      const declared = await put(id, 'big.flac', flacBytes(100 * 1024));
      expect(declared.status).toBe(413);
      expect((await declared.json()).error.message).toMatch(/^big\.flac is larger than the upload limit of 64 KiB: raise "Largest upload" in Settings/);
      // Without a Content-Length (chunked), the limit is enforced while counting.
      const id2 = newId();
      const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: bridge.port, method: 'PUT', path: `/api/upload/${id2}?path=big.flac`, headers: { Authorization: `Bearer ${TOKEN}` } }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        for (let i = 0; i < 10; i++) req.write(flacBytes(16 * 1024));
        req.end();
      });
      expect(chunked.status).toBe(413);
      expect(JSON.parse(chunked.body).error.message).toMatch(/larger than the upload limit of 64 KiB/);
      await waitFor(() => uploadedFiles().length === 0, 5000, 'no files left');
      // The web client turns it into a typed error with the same line.
      await expect(api.upload!(new Blob([new Uint8Array(flacBytes(100 * 1024))]), { uploadId: newId(), relativePath: 'big.flac' })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
        message: expect.stringMatching(/larger than the upload limit/),
      });
    } finally {
      core.settings.set({ maxUploadBytes: 2 * 1024 ** 3 });
    }
  });

  it('an upload aborted by the client leaves nothing behind', async () => {
    const id = newId();
    const req = http.request({
      host: '127.0.0.1',
      port: bridge.port,
      method: 'PUT',
      path: `/api/upload/${id}?path=half.flac`,
      headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Length': 4 * 1024 * 1024 },
    });
    req.on('error', () => {});
    req.write(flacBytes(512 * 1024));
    await waitFor(() => uploadedFiles().some((f) => f.endsWith('.partial') && fs.statSync(f).size > 0), 10_000, 'the partial file');
    req.destroy();
    await waitFor(() => uploadedFiles().length === 0, 10_000, 'the partial file to be removed');
    expect(fs.existsSync(path.join(uploadsRoot(dataDir), id))).toBe(false);
  });

  it('refuses traversal and absolute names with 400 and writes nothing outside (or inside) the uploads area', async () => {
    for (const name of ['../../x.flac', '/tmp/x.flac', 'a/../../../x.flac', 'C:\\x.flac', 'x\u0000.flac']) {
      const res = await put(newId(), name, flacBytes(1000));
      expect(res.status, name).toBe(400);
      expect((await res.json()).error.message).toMatch(/^Refused the file name/);
    }
    expect(fs.existsSync(path.join(dataDir, 'x.flac'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'x.flac'))).toBe(false);
    expect(uploadedFiles()).toEqual([]);
    const badId = await put('..%2F..%2Fetc', 'x.flac', flacBytes(1000));
    expect(badId.status).toBe(400);
    expect((await badId.json()).error.message).toMatch(/upload id must be/);
  });

  it('refuses non-audio by name (before reading it) and by content, with a clear message', async () => {
    const byName = await put(newId(), 'notes.txt', 'hello');
    expect(byName.status).toBe(415);
    expect((await byName.json()).error.message).toBe('notes.txt: Not an audio file (by its name and content): choose an mp3, wav, flac, m4a, ogg, opus or aiff file.');
    const byContent = await put(newId(), 'mystery', Buffer.from('<!doctype html><html>not audio at all</html>'));
    expect(byContent.status).toBe(415);
    expect((await byContent.json()).error.message).toMatch(/^mystery: Not an audio file/);
    const empty = await put(newId(), 'empty.flac', Buffer.alloc(0));
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.message).toMatch(/empty \(0 bytes\)/);
    // No extension but audio content: accepted (sniffed like a path-added file).
    const sniffed = await put(newId(), 'untitled', flacBytes(2000));
    expect(sniffed.status).toBe(201);
    expect(uploadedFiles().filter((f) => !f.endsWith(`${path.sep}untitled`))).toEqual([]);
  });

  it('the same name twice under one upload id is a conflict (409), not an overwrite', async () => {
    const id = newId();
    expect((await put(id, 'a.flac', flacBytes(1000, 1))).status).toBe(201);
    const again = await put(id, 'a.flac', flacBytes(1000, 2));
    expect(again.status).toBe(409);
    expect(fs.readFileSync(path.join(uploadsRoot(dataDir), id, 'a.flac')).equals(flacBytes(1000, 1))).toBe(true);
  });

  it('a re-upload of the same content is answered from the cache, into the same folder', async () => {
    const bytes = flacBytes(5000, 42);
    const first = newId();
    expect((await put(first, 'Cached.flac', bytes)).status).toBe(201);
    const a = (await api.invoke('jobs:add-upload', { uploadId: first })).jobs[0];
    const doneA = await waitStatus(core, a.id, 'done');
    expect(doneA.provider).not.toBe('cache');

    const second = newId();
    const viaClient = await api.upload!(new Blob([new Uint8Array(bytes)]), { uploadId: second, relativePath: 'Cached.flac' });
    expect(viaClient).toEqual({ uploadId: second, path: 'Cached.flac', size: bytes.length });
    const b = (await api.invoke('jobs:add-upload', { uploadId: second })).jobs[0];
    const doneB = await waitStatus(core, b.id, 'done');
    expect(doneB.provider).toBe('cache');
    expect(doneB.outputDir).toBe(doneA.outputDir);
    expect(doneB.stems.map((s) => s.path).sort()).toEqual(doneA.stems.map((s) => s.path).sort());
    // Removing the second (with its files) keeps the stems the first still lists.
    await core.jobs.remove(doneB.id, true);
    for (const s of doneA.stems) expect(fs.existsSync(s.path)).toBe(true);
    expect(fs.existsSync(b.inputPath)).toBe(false);
    expect(fs.existsSync(a.inputPath)).toBe(true);
    // `clean` removes finished jobs and their uploaded originals.
    expect(core.jobs.clean({ statuses: ['done'], deleteFiles: false })).toBeGreaterThan(0);
    expect(fs.existsSync(a.inputPath)).toBe(false);
  });

  it('a folder upload becomes one batch mirroring its tree', async () => {
    const id = newId();
    for (const [i, rel] of ['Album/cd1/01 One.flac', 'Album/cd1/02 Two.flac', 'Album/cd2/01 Three.flac'].entries()) {
      expect((await put(id, rel, flacBytes(3000, 100 + i))).status).toBe(201);
    }
    const added = await api.invoke('jobs:add-upload', { uploadId: id });
    expect(added.batches).toHaveLength(1);
    expect(path.basename(added.batches[0].sourceFolder)).toBe('Album');
    expect(added.jobs.map((j) => j.relativePath).sort()).toEqual([path.join('cd1', '01 One.flac'), path.join('cd1', '02 Two.flac'), path.join('cd2', '01 Three.flac')]);
    for (const j of added.jobs) {
      const done = await waitStatus(core, j.id, 'done');
      expect(path.relative(path.join(root, 'out', 'htdemucs'), done.outputDir!)).toBe(path.join(path.dirname(j.relativePath!), path.basename(j.name, '.flac')));
    }
    await expect(api.invoke('jobs:add-upload', { uploadId: newId() })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('prunes uploads no job refers to once they are old, and partial files of a crashed run', () => {
    const up = uploadsRoot(dataDir);
    fs.mkdirSync(path.join(up, 'orphan-upload-1', 'x'), { recursive: true });
    fs.writeFileSync(path.join(up, 'orphan-upload-1', 'x', 'a.flac'), 'x');
    fs.mkdirSync(path.join(up, '.partial'), { recursive: true });
    fs.writeFileSync(path.join(up, '.partial', 'crashed.partial'), 'x');
    const inUse = (dir: string) => core.jobs.list({ limit: 1000, offset: 0 }).jobs.some((j) => j.inputPath.startsWith(dir + path.sep));
    expect(pruneUploads(dataDir, inUse, 60_000)).toBe(0); // too fresh
    const kept = core.jobs.list({ limit: 1000, offset: 0 }).jobs.filter((j) => j.inputPath.startsWith(up)).map((j) => j.inputPath);
    expect(kept.length).toBeGreaterThan(0);
    // The orphan, the partial, and two earlier uploads never enqueued ("untitled", the 409 test's "a.flac").
    expect(pruneUploads(dataDir, inUse, 60_000, Date.now() + 120_000)).toBe(4);
    expect(fs.existsSync(path.join(up, 'orphan-upload-1'))).toBe(false);
    expect(fs.existsSync(path.join(up, '.partial', 'crashed.partial'))).toBe(false);
    for (const k of kept) expect(fs.existsSync(k)).toBe(true);
  });
});
