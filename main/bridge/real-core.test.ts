// The web bridge and its browser client on the REAL core (SQLite store + queue), with the
// queue's fake engine worker (a test double) instead of the ONNX model.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CONTRACT_VERSION, type Job, type QueueState } from '../../preload/contract.ts';
import { createWebClient, type WebClient, type WebSocketCtor } from '../../preload/web-client.ts';
import type { Core } from '../core.ts';
import { createHandlers, dispatch } from '../handlers.ts';
import { fakeCore, fakeWorkerConfig, makeInputs, tempDir } from '../../testing/test-harness.ts';
import { startBridge, type Bridge } from './server.ts';

const TOKEN = 'real-core-token-123456';
let root: string;
let core: Core;
let bridge: Bridge;
let api: WebClient;

beforeAll(async () => {
  fakeWorkerConfig({ segments: 3, segmentMs: 20, stemSeconds: 0.2 });
  root = tempDir('demix-bridge-real-');
  core = await fakeCore(path.join(root, 'data'));
  bridge = await startBridge({ core, token: TOKEN, rendererDir: path.join(root, 'no-ui'), appVersion: '1.0.0', log: () => {} });
  api = createWebClient({ baseUrl: `http://127.0.0.1:${bridge.port}`, token: TOKEN, WebSocket: WebSocket as unknown as WebSocketCtor });
});
afterAll(async () => {
  api?.close();
  await bridge?.close();
  await core?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('web bridge on the real core', () => {
  it('separates a song end to end: enqueue, live events, stems over HTTP Range', async () => {
    const [input] = makeInputs(path.join(root, 'music'), ['My Song.mp3']);
    let connected = false;
    const seen: Job['status'][] = [];
    const states: QueueState[] = [];
    let done: Job | null = null;
    const api2 = createWebClient({
      baseUrl: `http://127.0.0.1:${bridge.port}`,
      token: TOKEN,
      WebSocket: WebSocket as unknown as WebSocketCtor,
      onConnectionChange: (c) => (connected = c),
    });
    try {
      api2.on('job-updated', (j) => {
        if (seen.at(-1) !== j.status) seen.push(j.status);
        if (j.status === 'done') done = j;
      });
      api2.on('queue-state', (s) => states.push(s));
      await expect.poll(() => connected).toBe(true);

      const settings = await api.invoke('settings:set', { outputDir: path.join(root, 'out'), format: 'wav' });
      expect(settings.outputDir).toBe(path.join(root, 'out'));
      const added = await api.invoke('jobs:add-files', { paths: [input] });
      expect(added.jobs).toHaveLength(1);
      expect(added.jobs[0]).toMatchObject({ name: 'My Song.mp3', inputPath: input, status: 'queued' });

      await expect.poll(() => done, { timeout: 20_000 }).not.toBeNull();
      expect(seen).toEqual(['queued', 'running', 'done']);
      expect(states.some((s) => s.running === 1)).toBe(true);
      const job = done!;
      expect(job.stems.map((s) => s.name).sort()).toEqual(['bass', 'drums', 'other', 'vocals']);

      const vocals = job.stems.find((s) => s.name === 'vocals')!;
      const size = fs.statSync(vocals.path).size;
      const head = await fetch(api.mediaUrl(job.id, 'vocals'), { headers: { Range: 'bytes=0-3' } });
      expect(head.status).toBe(206);
      expect(head.headers.get('content-range')).toBe(`bytes 0-3/${size}`);
      expect(Buffer.from(await head.arrayBuffer()).toString('latin1')).toBe('RIFF');
      const tail = await fetch(api.mediaUrl(job.id, 'vocals'), { headers: { Range: 'bytes=-100' } });
      expect(Buffer.from(await tail.arrayBuffer()).equals(fs.readFileSync(vocals.path).subarray(size - 100))).toBe(true);
      expect((await fetch(api.mediaUrl(job.id, 'vocals'), { headers: { Range: `bytes=${size}-` } })).status).toBe(416);

      const mix = await fetch(api.mediaUrl(job.id, 'mix'));
      expect(await mix.text()).toBe(fs.readFileSync(input, 'utf8'));
      expect((await fetch(api.mediaUrl(job.id, '../../data/demix.db'))).status).toBe(404);
      expect((await fetch(api.mediaUrl('nope', 'vocals'))).status).toBe(404);

      // A symlink planted in the job folder is not a stem of the job.
      fs.symlinkSync(path.join(root, 'data'), path.join(job.outputDir!, 'planted'));
      expect((await fetch(api.mediaUrl(job.id, 'planted'))).status).toBe(404);

      await expect(api.invoke('jobs:cancel', { id: job.id })).rejects.toMatchObject({ code: 'CONFLICT' });
      await expect(api.invoke('jobs:get', { id: 'missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(api.invoke('jobs:add-files', { paths: [] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    } finally {
      api2.close();
    }
  });

  it("the real core's answers match the contract on every read-only channel", async () => {
    const handlers = createHandlers(core, { kind: 'web', appVersion: '1.0.0' });
    const { jobs } = core.jobs.list({ limit: 10, offset: 0 });
    const id = jobs[0]?.id;
    expect(id).toBeDefined();
    const calls: [string, unknown][] = [
      ['app:hello', { contractVersion: CONTRACT_VERSION }],
      ['jobs:list', {}],
      ['jobs:get', { id }],
      ['jobs:peaks', { id, stem: 'drums', buckets: 64 }],
      ['queue:state', {}],
      ['queue:pause', {}],
      ['queue:resume', {}],
      ['settings:get', {}],
      ['diagnostics:get', {}],
      ['dialog:open-files', {}],
    ];
    for (const [channel, req] of calls) {
      const res = await dispatch(handlers, channel, req, { checkResponse: true });
      expect(res, `${channel}: ${JSON.stringify(res)}`).toMatchObject({ ok: true });
    }
  });
});
