import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CONTRACT_VERSION, channelNames, type Channel, type Job } from '../preload/contract.ts';
import { createFakeCore, type FakeCore } from '../testing/fake-core.ts';
import { createHandlers, dispatch, toWireError, type Handlers } from './handlers.ts';
import { CoreError } from './core-error.ts';
import { fakeCore, fakeWorkerConfig, makeInputs, tempDir, waitStatus } from '../testing/test-harness.ts';

let dir: string;
let core: FakeCore;
let handlers: Handlers;
const call = (channel: unknown, payload: unknown) => dispatch(handlers, channel, payload, { checkResponse: true });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'demix-handlers-'));
  core = createFakeCore({ dataDir: dir });
  handlers = createHandlers(core, { kind: 'web', appVersion: '1.2.3' });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('createHandlers', () => {
  it('has exactly one handler per contract channel', () => {
    expect(Object.keys(handlers).sort()).toEqual([...channelNames].sort());
  });

  it('app:hello answers with versions and host, and rejects another contract version', async () => {
    expect(await call('app:hello', { contractVersion: CONTRACT_VERSION })).toEqual({
      ok: true,
      value: { contractVersion: CONTRACT_VERSION, appVersion: '1.2.3', host: 'web' },
    });
    const bad = await call('app:hello', { contractVersion: CONTRACT_VERSION + 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.error.code).toBe('VERSION_MISMATCH');
      expect(bad.error.message).toMatch(/reload/);
    }
  });

  it('a valid payload reaches the service with schema defaults applied', async () => {
    const res = await call('jobs:add-files', { paths: ['/music/a.mp3', '/music/b.flac'], options: { format: 'flac' } });
    expect(res.ok).toBe(true);
    expect(core.calls[0]).toEqual(['addPaths', ['/music/a.mp3', '/music/b.flac'], { format: 'flac' }]);
    if (res.ok) expect((res.value as { jobs: unknown[] }).jobs).toHaveLength(2);

    await call('jobs:list', {});
    expect(core.calls[1]).toEqual(['list', { limit: 500, offset: 0 }]);
  });

  it('invalid payloads are rejected with the schema message and never reach the service', async () => {
    const res = await call('jobs:add-files', { paths: [42] });
    expect(res).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('jobs:add-files: paths.0') } });
    const res2 = await call('settings:set', { concurrency: 99 });
    expect(res2.ok).toBe(false);
    if (!res2.ok) expect(res2.error.message).toMatch(/^settings:set: concurrency: /);
    expect(core.calls).toEqual([]);
  });

  it('unknown channel', async () => {
    const res = await call('jobs:explode', {});
    expect(res).toEqual({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'Unknown channel: jobs:explode' } });
    expect((await call({ toString: 1 }, {})).ok).toBe(false);
  });

  it('maps CoreError codes (NOT_FOUND, CONFLICT) onto the envelope', async () => {
    expect(await call('jobs:get', { id: 'nope' })).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'No job with id nope.' } });
    const added = await call('jobs:add-files', { paths: ['/a.wav'] });
    const id = added.ok ? (added.value as { jobs: { id: string }[] }).jobs[0].id : '';
    expect((await call('jobs:cancel', { id })).ok).toBe(true);
    const again = await call('jobs:cancel', { id });
    expect(again.ok === false && again.error.code).toBe('CONFLICT');
    const retried = await call('jobs:retry', { id });
    expect(retried.ok && (retried.value as { job: { status: string } }).job.status).toBe('queued');
  });

  it('unexpected errors become INTERNAL and are reported, never thrown', async () => {
    const seen: unknown[] = [];
    const broken = { ...core, settings: { ...core.settings, get: () => { throw new TypeError('boom'); } } };
    const h = createHandlers(broken, { kind: 'web', appVersion: '1' });
    const res = await dispatch(h, 'settings:get', {}, { onInternalError: (c, e) => seen.push(c, e) });
    expect(res).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'Unexpected error: boom' } });
    expect(seen[0]).toBe('settings:get');
  });

  it('checkResponse catches a Core answer that drifted from the contract', async () => {
    const drifted = { ...core, queue: { ...core.queue, state: () => ({ paused: 'no' }) as never } };
    const res = await dispatch(createHandlers(drifted, { kind: 'web', appVersion: '1' }), 'queue:state', {}, { checkResponse: true });
    expect(res.ok === false && res.error.code).toBe('INTERNAL');
  });

  it('host channels: the web host answers UNSUPPORTED / empty; a desktop host is called', async () => {
    const rev = await call('shell:reveal', { path: '/tmp/x.wav' });
    expect(rev.ok === false && rev.error.code).toBe('UNSUPPORTED');
    expect(await call('dialog:open-files', {})).toEqual({ ok: true, value: { paths: [] } });

    const revealed: string[] = [];
    const desktop = createHandlers(core, {
      kind: 'electron',
      appVersion: '1',
      reveal: (p) => void revealed.push(p),
      openFiles: async ({ folders }) => (folders ? ['/music'] : ['/music/a.mp3']),
    });
    const done = core.seedDoneJob({ inputPath: '/music/x.wav', outputDir: '/out/x', stems: { vocals: '/out/x/vocals.wav' } });
    for (const p of ['/music/x.wav', '/out/x', '/out/x/vocals.wav']) expect(await dispatch(desktop, 'shell:reveal', { path: p }), p).toEqual({ ok: true, value: { ok: true } });
    expect(revealed).toEqual(['/music/x.wav', '/out/x', '/out/x/vocals.wav']);
    // Anything else is refused before the host is asked (like media, confined to what jobs own).
    for (const p of ['/etc/passwd', '/out', '/out/x/../../etc/passwd']) {
      const res = await dispatch(desktop, 'shell:reveal', { path: p });
      expect(res.ok === false && res.error.code, p).toBe('NOT_FOUND');
    }
    expect(revealed).toHaveLength(3);
    expect(done.status).toBe('done');
    expect(await dispatch(desktop, 'dialog:open-files', { folders: true })).toEqual({ ok: true, value: { paths: ['/music'] } });
    const diag = await dispatch(desktop, 'diagnostics:get', {}, { checkResponse: true });
    expect(diag.ok && (diag.value as { host: string }).host).toBe('electron');
  });

  it('every channel answers with a contract-valid response or a typed error on the fake core', async () => {
    const added = await call('jobs:add-files', { paths: ['/a.wav', '/b.wav'] });
    const [a, b] = added.ok ? (added.value as { jobs: { id: string }[] }).jobs : [];
    const samples: Record<Channel, unknown> = {
      'app:hello': { contractVersion: CONTRACT_VERSION },
      'jobs:add-files': { paths: ['/c.wav'] },
      'jobs:add-folder': { path: '/music' },
      'jobs:add-upload': { uploadId: 'upload-0001' },
      'jobs:list': { status: ['queued'] },
      'jobs:get': { id: a.id },
      'jobs:cancel': { id: a.id },
      'jobs:retry': { id: a.id },
      'jobs:remove': { id: b.id },
      'jobs:reorder': { id: a.id, beforeId: null },
      'jobs:peaks': { id: a.id, stem: 'vocals', buckets: 16 },
      'jobs:stream-info': { id: a.id },
      'jobs:preview': { id: a.id },
      'queue:pause': {},
      'queue:resume': {},
      'queue:state': {},
      'settings:get': {},
      'settings:set': { format: 'mp3' },
      'mixdown:export': { id: a.id, stems: ['drums', 'bass'], format: 'wav' },
      'shell:reveal': { path: '/x' },
      'dialog:open-files': {},
      'diagnostics:get': {},
    };
    for (const channel of channelNames) {
      const res = await call(channel, samples[channel]);
      if (channel === 'shell:reveal') expect(res.ok === false && res.error.code).toBe('UNSUPPORTED');
      else expect(res, channel).toMatchObject({ ok: true });
    }
    expect(core.calls.map((c) => c[0])).toContain('exportMixdown');
  });
});

describe('every mutating channel on the REAL core (SQLite store, queue, media worker)', () => {
  it('answers with a contract-valid response', async () => {
    fakeWorkerConfig({ segments: 2, segmentMs: 1, stemSeconds: 0.3 });
    const root = tempDir();
    const real = await fakeCore(path.join(root, 'data'));
    try {
      const revealed: string[] = [];
      const h = createHandlers(real, { kind: 'electron', appVersion: '1', reveal: (p) => void revealed.push(p), openFiles: async () => [] });
      const ok = async (channel: Channel, payload: unknown) => {
        const res = await dispatch(h, channel, payload, { checkResponse: true });
        expect(res, channel).toMatchObject({ ok: true });
        return (res as { ok: true; value: unknown }).value as { job?: Job; jobs?: Job[] };
      };
      const input = path.join(root, 'tone.wav');
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-ac', '2', input]);
      await ok('settings:set', { outputDir: path.join(root, 'out') });
      const first = (await ok('jobs:add-files', { paths: [input] })).jobs![0];
      makeInputs(path.join(root, 'album'), ['a.mp3', 'b.mp3']);
      await ok('jobs:add-folder', { path: path.join(root, 'album') });
      const done = await waitStatus(real, first.id, 'done');
      await ok('jobs:peaks', { id: done.id, stem: 'drums', buckets: 64 });
      await ok('mixdown:export', { id: done.id, stems: ['drums', 'bass'], format: 'wav', gains: { bass: 0.5 } });
      await ok('shell:reveal', { path: done.outputDir });
      expect(revealed).toEqual([done.outputDir]);
      await ok('queue:pause', {});
      const [c1, c2] = makeInputs(path.join(root, 'more'), ['c1.mp3', 'c2.mp3']);
      const queued = (await ok('jobs:add-files', { paths: [c1, c2] })).jobs!;
      await ok('jobs:reorder', { id: queued[1].id, beforeId: queued[0].id });
      await ok('jobs:cancel', { id: queued[0].id });
      await ok('jobs:retry', { id: queued[0].id });
      await ok('settings:set', { format: 'flac', concurrency: 1 });
      await ok('queue:resume', {});
      await ok('jobs:remove', { id: queued[1].id, deleteFiles: true });
      await ok('jobs:remove', { id: done.id, deleteFiles: false });
    } finally {
      await real.close();
    }
  });
});

describe('toWireError', () => {
  it('keeps CoreError codes, keeps engine messages, wraps the rest', () => {
    expect(toWireError(new CoreError('CONFLICT', 'no'))).toEqual({ code: 'CONFLICT', message: 'no' });
    const engine = Object.assign(new Error('Cannot write to the output folder: choose another.'), { name: 'DemixError', code: 'OUTPUT_UNWRITABLE' });
    expect(toWireError(engine)).toEqual({ code: 'INTERNAL', message: 'Cannot write to the output folder: choose another.' });
    expect(toWireError(Object.assign(new Error('nope'), { code: 'ENOENT' }))).toEqual({ code: 'INTERNAL', message: 'Unexpected error: nope' });
    expect(toWireError('str')).toEqual({ code: 'INTERNAL', message: 'Unexpected error: str' });
  });
});
