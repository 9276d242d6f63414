// The web client against a real startBridge on the in-memory Core test double.
// (preload/ may not import main/ in production code; this test wires the two together.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createFakeCore, type FakeCore } from '../testing/fake-core.ts';
// eslint-disable-next-line no-restricted-imports -- test wiring only
import { startBridge, type Bridge } from '../main/bridge/server.ts';
import { DemixRemoteError, type Job, type QueueState } from './contract.ts';
import { createWebClient, type WebClient, type WebSocketCtor } from './web-client.ts';

const TOKEN = 'client-token-abcdefgh';
let root: string;
let core: FakeCore;
let bridge: Bridge;
let base: string;
const clients: WebClient[] = [];
const client = (token = TOKEN, extra: Partial<Parameters<typeof createWebClient>[0]> = {}) => {
  const c = createWebClient({ baseUrl: base + '/', token, WebSocket: WebSocket as unknown as WebSocketCtor, reconnect: { minDelayMs: 20, maxDelayMs: 100 }, ...extra });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'demix-webclient-'));
  mkdirSync(path.join(root, 'out'));
  writeFileSync(path.join(root, 'out', 'bass.wav'), Buffer.alloc(1000, 7));
  core = createFakeCore({ dataDir: root });
  core.seedDoneJob({ id: 'done1', inputPath: path.join(root, 'in.wav'), outputDir: path.join(root, 'out'), stems: { bass: path.join(root, 'out', 'bass.wav') } });
  bridge = await startBridge({ core, token: TOKEN, rendererDir: root, appVersion: '2.0.0', log: () => {} });
  base = `http://127.0.0.1:${bridge.port}`;
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await bridge.close();
  rmSync(root, { recursive: true, force: true });
});

describe('createWebClient', () => {
  it('is a web DemixApi', () => {
    const api = client();
    expect(api.host).toBe('web');
    expect(api.contractVersion).toBe(1);
    expect(api.pathForFile({} as File)).toBeNull();
    expect(() => api.startDrag('done1', 'bass')).not.toThrow();
  });

  it('invokes channels and unwraps values', async () => {
    const api = client();
    expect(await api.invoke('app:hello', { contractVersion: 1 })).toEqual({ contractVersion: 1, appVersion: '2.0.0', host: 'web' });
    const s = await api.invoke('settings:set', { shifts: 2 });
    expect(s.shifts).toBe(2);
    expect((await api.invoke('settings:get', {})).shifts).toBe(2);
  });

  it('turns error envelopes into DemixRemoteError with the code and message', async () => {
    const api = client();
    const bad = await api.invoke('jobs:get', { id: '' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(DemixRemoteError);
    expect((bad as DemixRemoteError).code).toBe('BAD_REQUEST');
    expect((bad as DemixRemoteError).message).toMatch(/^jobs:get: id/);
    await expect(api.invoke('jobs:cancel', { id: 'done1' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(client('wrong-token-xxxxxxxx').invoke('settings:get', {})).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const gone = createWebClient({ baseUrl: 'http://127.0.0.1:1', token: TOKEN });
    await expect(gone.invoke('settings:get', {})).rejects.toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/demix serve/) });
  });

  it('delivers pushed events to listeners and stops after unsubscribe', async () => {
    let connected = false;
    const api = client(TOKEN, { onConnectionChange: (c) => (connected = c) });
    const jobs: Job[] = [];
    const states: QueueState[] = [];
    const offJob = api.on('job-updated', (j) => jobs.push(j));
    const offState = api.on('queue-state', (s) => states.push(s));
    await expect.poll(() => connected).toBe(true);
    await api.invoke('jobs:add-files', { paths: ['/music/one.flac'] });
    await expect.poll(() => jobs.length).toBe(1);
    expect(jobs[0]).toMatchObject({ name: 'one', status: 'queued', inputPath: '/music/one.flac' });
    await expect.poll(() => states.length).toBe(1);
    offJob();
    await api.invoke('queue:pause', {});
    await expect.poll(() => states.length).toBe(2);
    expect(states[1].paused).toBe(true);
    await api.invoke('jobs:add-files', { paths: ['/music/two.flac'] });
    await expect.poll(() => states.length).toBe(3);
    expect(jobs).toHaveLength(1);
    offState();
  });

  it('reconnects after the event stream drops and re-syncs jobs and queue state', async () => {
    const c2 = createFakeCore({ dataDir: root });
    let b2 = await startBridge({ core: c2, token: TOKEN, rendererDir: root, log: () => {} });
    const port = b2.port;
    const changes: boolean[] = [];
    const api = createWebClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, WebSocket: WebSocket as unknown as WebSocketCtor, reconnect: { minDelayMs: 20, maxDelayMs: 50 }, onConnectionChange: (c) => changes.push(c) });
    clients.push(api);
    const seen: string[] = [];
    api.on('job-updated', (j) => seen.push(j.name));
    await expect.poll(() => changes).toEqual([true]);
    await b2.close();
    await expect.poll(() => changes).toEqual([true, false]);
    // A job is added while the client is disconnected; it must show up after the reconnect.
    await c2.jobs.addPaths(['/music/missed.wav']);
    b2 = await startBridge({ core: c2, token: TOKEN, rendererDir: root, port, log: () => {} });
    try {
      await expect.poll(() => changes.at(-1), { timeout: 5000 }).toBe(true);
      await expect.poll(() => seen).toContain('missed');
    } finally {
      api.close();
      await b2.close();
    }
  });

  it('a reconnect re-syncs every job (not only the first page) and reports jobs removed while disconnected', async () => {
    const c2 = createFakeCore({ dataDir: root });
    const before = await c2.jobs.addPaths(Array.from({ length: 700 }, (_, i) => `/music/a${i}.wav`));
    let b2 = await startBridge({ core: c2, token: TOKEN, rendererDir: root, log: () => {} });
    const port = b2.port;
    const changes: boolean[] = [];
    const api = createWebClient({ baseUrl: `http://127.0.0.1:${port}`, token: TOKEN, WebSocket: WebSocket as unknown as WebSocketCtor, reconnect: { minDelayMs: 20, maxDelayMs: 50 }, onConnectionChange: (c) => changes.push(c) });
    clients.push(api);
    const updated = new Set<string>();
    const removed: string[] = [];
    api.on('job-updated', (j) => updated.add(j.id));
    api.on('job-removed', (r) => removed.push(r.id));
    await expect.poll(() => changes).toEqual([true]);
    // The client learns of a job while connected…
    const seenLive = (await c2.jobs.addPaths(['/music/live.wav'])).jobs[0];
    await expect.poll(() => updated.has(seenLive.id)).toBe(true);
    await b2.close();
    await expect.poll(() => changes).toEqual([true, false]);
    // …which is removed while it is disconnected, and 600 more jobs arrive meanwhile.
    c2.jobs.remove(seenLive.id, false);
    const missed = await c2.jobs.addPaths(Array.from({ length: 600 }, (_, i) => `/music/b${i}.wav`));
    b2 = await startBridge({ core: c2, token: TOKEN, rendererDir: root, port, log: () => {} });
    try {
      await expect.poll(() => changes.at(-1), { timeout: 5000 }).toBe(true);
      await expect.poll(() => removed, { timeout: 5000 }).toEqual([seenLive.id]);
      for (const j of [...before.jobs, ...missed.jobs]) expect(updated.has(j.id), j.inputPath).toBe(true);
    } finally {
      api.close();
      await b2.close();
    }
  });

  it('builds media URLs the bridge serves with Range', async () => {
    const api = client();
    const url = api.mediaUrl('done1', 'bass');
    expect(url).toBe(`${base}/media/done1/bass?token=${TOKEN}`);
    const res = await fetch(url, { headers: { Range: 'bytes=0-9' } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.alloc(10, 7))).toBe(true);
    expect(api.mediaUrl('a/b', 'c d')).toContain('/media/a%2Fb/c%20d?');
  });
});
