/**
 * The local web bridge: the same contract as Electron IPC, over HTTP + WebSocket on 127.0.0.1,
 * serving the built renderer, so the app runs in a browser (`demix serve`) and end-to-end tests
 * drive it in Chromium.
 *
 *   POST /api/invoke/<channel>   JSON request → 200 + WireResult envelope
 *   PUT  /api/upload/<id>?path=… a browser upload streamed to disk (upload-route.ts)
 *   GET  /api/events             WebSocket; pushes {"event", "payload"} for every contract event
 *   GET  /media/<jobId>/<stem>   the confined media resolver, with HTTP Range
 *   GET  /…                      static files from rendererDir, SPA fallback to index.html
 *
 * Security: a token on every request (Authorization: Bearer, `?token=`, or — for the static
 * page's own assets only — a SameSite=Strict cookie set when the page was opened with a valid
 * token), compared in constant time; the Host header must name the loopback interface (DNS
 * rebinding); WebSocket Origin, when sent, must be ours; a strict CSP on pages.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventNames, type WireResult } from '../../preload/contract.ts';
import { buildCsp } from '../csp.ts';
import { createHandlers, describeError, dispatch, type ShellCore } from '../handlers.ts';
import { splitMediaPath } from '../media.ts';
import { serveMedia, wantsPcm } from '../media-pcm.ts';
import { resolveStatic } from './static-files.ts';
import { appRoot } from '../app-root.ts';
import { handleUpload } from './upload-route.ts';

export interface BridgeOptions {
  core: ShellCore;
  /** 0 (default) = a free port chosen by the system. */
  port?: number;
  /** Default: 32 random bytes, base64url. */
  token?: string;
  /** Built renderer (vite build output). Default: `<repo>/dist/renderer`. */
  rendererDir?: string;
  /** Only loopback is supported. */
  host?: '127.0.0.1';
  appVersion?: string;
  /** Log unexpected errors (default: console.error). */
  log?: (message: string) => void;
  /** Event-stream clients that miss a ping for this long are dropped (default 30 s). */
  heartbeatMs?: number;
}

export interface Bridge {
  url: string;
  token: string;
  port: number;
  /** The HTTP server (tests: emit an error on it). */
  server: http.Server;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;


export function defaultRendererDir(): string {
  return path.join(appRoot(), 'dist', 'renderer');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time token comparison (hashing first makes the lengths equal). */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string' || given.length === 0 || given.length > 1024) return false;
  return timingSafeEqual(digest(expected), digest(given));
}

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}

function pageCsp(hostHeader: string): string {
  return buildCsp({ defaultSrc: "'self'", media: ["'self'", 'blob:'], connect: ["'self'", `ws://${hostHeader}`] });
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export async function startBridge(opts: BridgeOptions): Promise<Bridge> {
  const core = opts.core;
  const token = opts.token ?? randomBytes(32).toString('base64url');
  if (token.length < 8) throw new Error('The bridge token must be at least 8 characters long.');
  const bindHost = opts.host ?? '127.0.0.1';
  if (bindHost !== '127.0.0.1') throw new Error('The web bridge only listens on 127.0.0.1.');
  const rendererDir = path.resolve(opts.rendererDir ?? defaultRendererDir());
  const log = opts.log ?? ((m: string) => console.error(m));
  const handlers = createHandlers(core, { kind: 'web', appVersion: opts.appVersion ?? '0.0.0' });
  let port = 0;
  const cookieName = () => `demix_token_${port}`;

  const allowedHost = (hostHeader: string | undefined): boolean => {
    if (!hostHeader) return false;
    return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(hostHeader.toLowerCase());
  };
  const allowedOrigin = (origin: string | undefined): boolean => {
    if (origin === undefined) return true; // non-browser clients
    return [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`].includes(origin.toLowerCase());
  };
  const requestToken = (req: IncomingMessage, url: URL, allowCookie: boolean): string | null => {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
    const q = url.searchParams.get('token');
    if (q) return q;
    return allowCookie ? cookieValue(req.headers.cookie, cookieName()) : null;
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const data = JSON.stringify(body);
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(data) });
    res.end(data);
  };
  const sendText = (res: ServerResponse, status: number, text: string) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const envelope = (code: 'BAD_REQUEST' | 'FORBIDDEN' | 'INTERNAL', message: string): WireResult<never> => ({ ok: false, error: { code, message } });

  const readBody = (req: IncomingMessage): Promise<string | 'too-large'> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          resolve('too-large');
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  async function handleInvoke(req: IncomingMessage, res: ServerResponse, channel: string) {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return sendJson(res, 405, envelope('BAD_REQUEST', 'Use POST for /api/invoke/<channel>.'));
    }
    const body = await readBody(req);
    if (body === 'too-large') return sendJson(res, 413, envelope('BAD_REQUEST', `Request body over ${MAX_BODY} bytes.`));
    let payload: unknown = {};
    if (body.trim() !== '') {
      try {
        payload = JSON.parse(body);
      } catch {
        return sendJson(res, 400, envelope('BAD_REQUEST', `${channel}: the request body is not valid JSON.`));
      }
    }
    const result = await dispatch(handlers, channel, payload, {
      onInternalError: (c, e) => log(`demix bridge: ${c} failed: ${describeError(e)}`),
    });
    sendJson(res, 200, result);
  }

  async function handleMedia(req: IncomingMessage, res: ServerResponse, rest: string, search: URLSearchParams) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed.');
    const parts = splitMediaPath(rest);
    const out = parts ? await serveMedia(core, parts.jobId, parts.stem, { range: req.headers.range, pcm: wantsPcm(search), body: req.method === 'GET' }) : null;
    if (!out) return sendText(res, 404, 'Not found.');
    res.writeHead(out.status, { ...SECURITY_HEADERS, ...out.headers });
    if (!out.body) return res.end();
    out.body.on('error', () => res.destroy());
    out.body.pipe(res);
  }

  async function handleStatic(req: IncomingMessage, res: ServerResponse, url: URL, hostHeader: string) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed.');
    const found = await resolveStatic(rendererDir, url.pathname);
    if (found.kind === 'not-built') {
      return sendText(res, 503, `The Demix UI is not built (no ${found.indexPath}) and \`demix serve\` could not build it: run \`npm install\` (it builds the UI), then restart \`demix serve\`. The API under /api works without it.`);
    }
    if (found.kind === 'bad-path') return sendText(res, 400, 'Bad path.');
    if (found.kind === 'not-found') return sendText(res, 404, 'Not found.');
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'Content-Type': found.type,
      'Content-Length': String(found.size),
      'Cache-Control': found.isHtml ? 'no-store' : 'no-cache',
    };
    if (found.isHtml) {
      headers['Content-Security-Policy'] = pageCsp(hostHeader);
      headers['X-Frame-Options'] = 'DENY';
    }
    // Opening the page with ?token= lets its own scripts and styles load without the token.
    const cookie = `${cookieName()}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    res.writeHead(200, { ...headers, 'Set-Cookie': cookie });
    if (req.method === 'HEAD') return res.end();
    createReadStream(found.file).on('error', () => res.destroy()).pipe(res);
  }

  // No limit on the time a whole request may take (Node's default is 5 min): a 2 GiB upload from a
  // slow disk may take longer. Headers still have to arrive in time (headersTimeout).
  const server = http.createServer({ requestTimeout: 0 }, (req, res) => {
    void (async () => {
      const hostHeader = req.headers.host;
      if (!allowedHost(hostHeader)) return sendText(res, 403, 'Forbidden: Demix only answers on 127.0.0.1/localhost.');
      const url = new URL(req.url ?? '/', `http://${hostHeader}`);
      const isApi = url.pathname.startsWith('/api/');
      const isMedia = url.pathname.startsWith('/media/');
      const given = requestToken(req, url, !isApi && !isMedia);
      if (!tokenMatches(token, given)) {
        res.setHeader('WWW-Authenticate', 'Bearer');
        if (isApi) return sendJson(res, 401, envelope('FORBIDDEN', 'Missing or wrong access token: open the URL that `demix serve` printed.'));
        return sendText(res, 401, 'Missing or wrong access token: open the URL that `demix serve` printed (it ends with ?token=…).');
      }
      if (url.pathname.startsWith('/api/upload/')) {
        return handleUpload(req, res, url, { dataDir: core.dataDir, maxBytes: () => core.settings.get().maxUploadBytes, sendJson, log });
      }
      if (url.pathname.startsWith('/api/invoke/')) {
        let channel: string;
        try {
          channel = decodeURIComponent(url.pathname.slice('/api/invoke/'.length));
        } catch {
          channel = '';
        }
        return handleInvoke(req, res, channel);
      }
      if (isApi) return sendJson(res, 404, envelope('BAD_REQUEST', `No such endpoint: ${url.pathname.slice(0, 80)}`));
      if (isMedia) return handleMedia(req, res, url.pathname.slice('/media'.length), url.searchParams);
      return handleStatic(req, res, url, hostHeader!);
    })().catch((e: unknown) => {
      log(`demix bridge: ${req.method} ${req.url?.split('?')[0]} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      if (!res.headersSent) sendText(res, 500, 'Internal error.');
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!allowedHost(req.headers.host)) return reject(403, 'Forbidden');
    if (!allowedOrigin(req.headers.origin)) return reject(403, 'Forbidden');
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    if (url.pathname !== '/api/events') return reject(404, 'Not Found');
    if (!tokenMatches(token, requestToken(req, url, false))) return reject(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const alive = new WeakMap<WebSocket, boolean>();
  wss.on('connection', (ws: WebSocket) => {
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('error', () => ws.terminate());
    // Clients only listen; anything they send is ignored.
  });
  // Drop clients that vanished without closing (sleeping laptop, killed tab) so they don't pile up.
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();

  const unsubscribe = eventNames.map((event) =>
    core.bus.on(event, (payload) => {
      if (wss.clients.size === 0) return;
      const data = JSON.stringify({ event, payload });
      for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(data);
    }),
  );

  await new Promise<void>((resolve, reject) => {
    const onListenError = (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'EADDRINUSE'
          ? Object.assign(new Error(`Port ${opts.port} on 127.0.0.1 is already in use: pick another with --port, or --port 0 for any free port.`), { code: e.code, cause: e })
          : e,
      );
    server.once('error', onListenError);
    server.listen(opts.port ?? 0, bindHost, () => {
      server.off('error', onListenError);
      resolve();
    });
  });
  // Later errors (e.g. EMFILE on accept) are logged; the bridge keeps serving.
  server.on('error', (e) => log(`demix: web bridge error: ${e.message}`));
  port = (server.address() as AddressInfo).port;

  let closed: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}`,
    token,
    port,
    server,
    close() {
      closed ??= (async () => {
        clearInterval(heartbeat);
        for (const off of unsubscribe) off();
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
