import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createFakeCore, makeJob, type FakeCore } from '../../testing/fake-core.ts';
import { startBridge, tokenMatches, type Bridge } from './server.ts';

const TOKEN = 'test-token-0123456789';
let root: string;
let core: FakeCore;
let bridge: Bridge;
let base: string;
const audio = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));

function rawGet(p: string, headers: Record<string, string>): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: bridge.port, path: p, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const invoke = (channel: string, body: unknown, token: string | null = TOKEN) =>
  fetch(`${base}/api/invoke/${channel}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'demix-bridge-'));
  const ui = path.join(root, 'ui');
  mkdirSync(path.join(ui, 'assets'), { recursive: true });
  writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>Demix</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(path.join(ui, 'assets', 'app.js'), 'console.log("demix")');
  writeFileSync(path.join(root, 'outside.txt'), 'secret');
  const out = path.join(root, 'out');
  mkdirSync(out);
  writeFileSync(path.join(out, 'vocals.wav'), audio);
  core = createFakeCore({ dataDir: root });
  core.seedDoneJob({ id: 'j1', inputPath: path.join(root, 'in.mp3'), outputDir: out, stems: { vocals: path.join(out, 'vocals.wav') } });
  bridge = await startBridge({ core, token: TOKEN, rendererDir: ui, appVersion: '9.9.9', log: () => {} });
  base = `http://127.0.0.1:${bridge.port}`;
});
afterAll(async () => {
  await bridge?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('startBridge', () => {
  it('a busy port rejects with the EADDRINUSE code and a friendly message; later server errors are logged, not thrown', async () => {
    const err = await startBridge({ core, token: TOKEN, port: bridge.port, log: () => {} }).catch((e) => e);
    expect(err.code).toBe('EADDRINUSE');
    expect(err.message).toMatch(/already in use: pick another with --port/);
    const logged: string[] = [];
    const b2 = await startBridge({ core, token: TOKEN, log: (m) => logged.push(m) });
    try {
      // With no 'error' listener left, this emit would throw (and crash the process).
      expect(() => b2.server.emit('error', new Error('EMFILE: too many open files, accept'))).not.toThrow();
      expect(logged.join('\n')).toMatch(/web bridge error: EMFILE/);
      const res = await fetch(`http://127.0.0.1:${b2.port}/api/invoke/queue:state`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
    } finally {
      await b2.close();
    }
  });

  it('prints a loopback URL carrying the token', () => {
    expect(bridge.url).toBe(`http://127.0.0.1:${bridge.port}/?token=${TOKEN}`);
    expect(bridge.port).toBeGreaterThan(0);
  });

  it('requires the token on the API, media and pages', async () => {
    const none = await invoke('settings:get', {}, null);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringMatching(/token/) } });
    expect((await invoke('settings:get', {}, 'wrong-token-0123456789')).status).toBe(401);
    expect((await fetch(`${base}/media/j1/vocals`)).status).toBe(401);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/?token=nope`)).status).toBe(401);
    expect((await fetch(`${base}/api/invoke/settings:get?token=${TOKEN}`, { method: 'POST' })).status).toBe(200);
  });

  it('refuses foreign Host headers (DNS rebinding)', async () => {
    const res = await rawGet(`/?token=${TOKEN}`, { Host: 'evil.example:80' });
    expect(res.status).toBe(403);
    const ok = await rawGet(`/?token=${TOKEN}`, { Host: `localhost:${bridge.port}` });
    expect(ok.status).toBe(200);
  });

  it('contract round trip: settings get/set, bad payload, unknown channel, typed core errors', async () => {
    const got = await (await invoke('settings:get', {})).json();
    expect(got.ok).toBe(true);
    expect(got.value.format).toBe('wav');
    const set = await (await invoke('settings:set', { format: 'flac', bits: 24 })).json();
    expect(set).toMatchObject({ ok: true, value: { format: 'flac', bits: 24 } });
    expect((await (await invoke('settings:get', {})).json()).value.format).toBe('flac');

    const bad = await (await invoke('settings:set', { bits: 7 })).json();
    expect(bad).toEqual({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^settings:set: bits/) } });
    expect((await (await invoke('nope:nope', {})).json()).error.code).toBe('UNKNOWN_CHANNEL');
    expect((await (await invoke('jobs:get', { id: 'missing' })).json()).error.code).toBe('NOT_FOUND');
    expect((await (await invoke('shell:reveal', { path: '/tmp' })).json()).error.code).toBe('UNSUPPORTED');
    expect(await (await invoke('dialog:open-files', {})).json()).toEqual({ ok: true, value: { paths: [] } });
    const hello = await (await invoke('app:hello', { contractVersion: 1 })).json();
    expect(hello).toEqual({ ok: true, value: { contractVersion: 1, appVersion: '9.9.9', host: 'web' } });

    const notJson = await fetch(`${base}/api/invoke/settings:get`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: '{' });
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error.code).toBe('BAD_REQUEST');
    expect((await fetch(`${base}/api/invoke/settings:get?token=${TOKEN}`)).status).toBe(405);
  });

  it('event stream delivers job updates, and rejects a missing token or foreign origin', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/api/events?token=${TOKEN}`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const got: { event: string; payload: { id?: string; name?: string } }[] = [];
    ws.on('message', (d) => got.push(JSON.parse(String(d))));
    await invoke('jobs:add-files', { paths: ['/music/song.mp3'] });
    await expect.poll(() => got.length).toBeGreaterThanOrEqual(2);
    expect(got[0].event).toBe('job-updated');
    expect(got[0].payload.name).toBe('song');
    expect(got[1].event).toBe('queue-state');
    ws.close();

    const status = (url: string, headers?: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const c = new WebSocket(url, { headers });
        c.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        c.on('open', () => {
          c.close();
          resolve(101);
        });
        c.on('error', () => {});
      });
    expect(await status(`ws://127.0.0.1:${bridge.port}/api/events`)).toBe(401);
    expect(await status(`ws://127.0.0.1:${bridge.port}/api/events?token=${TOKEN}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await status(`ws://127.0.0.1:${bridge.port}/api/events?token=${TOKEN}`, { Origin: `http://localhost:${bridge.port}` })).toBe(101);
  });

  it('media over HTTP with Range, confined to the job', async () => {
    const whole = await fetch(`${base}/media/j1/vocals?token=${TOKEN}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(Buffer.from(await whole.arrayBuffer()).equals(audio)).toBe(true);

    const part = await fetch(`${base}/media/j1/vocals?token=${TOKEN}`, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/4096');
    expect(Buffer.from(await part.arrayBuffer()).equals(audio.subarray(100, 200))).toBe(true);

    const suffix = await fetch(`${base}/media/j1/vocals?token=${TOKEN}`, { headers: { Range: 'bytes=-500' } });
    expect(suffix.status).toBe(206);
    expect((await suffix.arrayBuffer()).byteLength).toBe(500);

    const beyond = await fetch(`${base}/media/j1/vocals?token=${TOKEN}`, { headers: { Range: 'bytes=5000-' } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */4096');

    expect((await fetch(`${base}/media/j1/%2e%2e%2foutside.txt?token=${TOKEN}`)).status).toBe(404);
    // URL parsing folds the dots away (→ /outside.txt), which is then just a missing static file.
    const dotted = await rawGet(`/media/j1/../../outside.txt?token=${TOKEN}`, { Host: `127.0.0.1:${bridge.port}` });
    expect(dotted.status).toBe(404);
    expect(dotted.body).not.toContain('secret');
    expect((await fetch(`${base}/media/nope/vocals?token=${TOKEN}`)).status).toBe(404);
  });

  it('serves the renderer with MIME types, CSP, a token cookie for its assets, and SPA fallback', async () => {
    const page = await fetch(`${base}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const cookie = page.headers.get('set-cookie')!.split(';')[0];
    expect(cookie).toBe(`demix_token_${bridge.port}=${TOKEN}`);
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);

    const js = await fetch(`${base}/assets/app.js`, { headers: { Cookie: cookie } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log("demix")');
    // The cookie is not accepted by the API (only header or query token).
    expect((await fetch(`${base}/api/invoke/settings:get`, { method: 'POST', headers: { Cookie: cookie } })).status).toBe(401);

    const route = await fetch(`${base}/jobs/123?token=${TOKEN}`);
    expect(route.status).toBe(200);
    expect(await route.text()).toContain('<title>Demix</title>');
    expect((await fetch(`${base}/assets/missing.js?token=${TOKEN}`)).status).toBe(404);
    expect((await rawGet(`/%2e%2e/outside.txt?token=${TOKEN}`, { Host: `127.0.0.1:${bridge.port}` })).status).toBe(404);
  });

  it('says how to build the UI when rendererDir has no index.html', async () => {
    const b = await startBridge({ core: createFakeCore({ dataDir: root }), token: TOKEN, rendererDir: path.join(root, 'nothing') });
    try {
      const res = await fetch(`http://127.0.0.1:${b.port}/?token=${TOKEN}`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/could not build it: run `npm install`/);
    } finally {
      await b.close();
    }
  });

  it('keeps answering clients across heartbeats and drops the ones that stop answering pings', async () => {
    const c = createFakeCore({ dataDir: root });
    const b = await startBridge({ core: c, token: TOKEN, rendererDir: root, heartbeatMs: 40 });
    try {
      const url = `ws://127.0.0.1:${b.port}/api/events?token=${TOKEN}`;
      const live = new WebSocket(url);
      const mute = new WebSocket(url, { autoPong: false });
      const open = (w: WebSocket) => new Promise((r) => w.once('open', r));
      await Promise.all([open(live), open(mute)]);
      let muteClosed = false;
      mute.on('close', () => (muteClosed = true));
      await expect.poll(() => muteClosed, { timeout: 2000 }).toBe(true);
      const got: string[] = [];
      live.on('message', (d) => got.push(JSON.parse(String(d)).event));
      c.emit('job-removed', { id: 'x' });
      await expect.poll(() => got).toEqual(['job-removed']);
      expect(live.readyState).toBe(WebSocket.OPEN);
      live.close();
    } finally {
      await b.close();
    }
  });

  it('unsubscribes from the bus on close', async () => {
    const c = createFakeCore({ dataDir: root });
    const b = await startBridge({ core: c, rendererDir: root });
    expect(b.token.length).toBeGreaterThanOrEqual(32);
    expect(c.listenerCount()).toBe(4);
    await b.close();
    expect(c.listenerCount()).toBe(0);
    c.emit('job-updated', makeJob({ inputPath: '/x.wav' })); // no socket, no throw
  });
});

describe('tokenMatches', () => {
  it('compares exactly', () => {
    expect(tokenMatches('abcdefgh', 'abcdefgh')).toBe(true);
    expect(tokenMatches('abcdefgh', 'abcdefgH')).toBe(false);
    expect(tokenMatches('abcdefgh', 'abcdefgh ')).toBe(false);
    expect(tokenMatches('abcdefgh', '')).toBe(false);
    expect(tokenMatches('abcdefgh', null)).toBe(false);
  });
});
