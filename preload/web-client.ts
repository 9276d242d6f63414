/**
 * `window.demix` for a browser page served by the local web bridge (`demix serve`).
 *
 * Same DemixApi as the Electron preload: invoke over `POST /api/invoke/<channel>`, pushed
 * events over the `/api/events` WebSocket (reconnecting, with a re-sync of jobs and queue state
 * after a reconnect), media over `/media/<jobId>/<stem>`. Imports only the contract.
 */
import {
  CONTRACT_VERSION,
  DemixRemoteError,
  eventNames,
  type Batch,
  type Channel,
  type DemixApi,
  type EventName,
  type EventPayload,
  type Job,
  type RequestOf,
  type ResponseOf,
  type UploadOptions,
  type UploadResult,
  type WireResult,
} from './contract.ts';

/** The subset of the browser WebSocket the client uses (the `ws` package matches it too). */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}
export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface WebClientOptions {
  /** e.g. `http://127.0.0.1:5123` or `location.origin`. */
  baseUrl: string;
  token: string;
  /** Defaults to globalThis.fetch / globalThis.WebSocket. */
  fetch?: typeof fetch;
  WebSocket?: WebSocketCtor;
  /** Reconnect delays grow from minDelayMs to maxDelayMs. */
  reconnect?: { minDelayMs?: number; maxDelayMs?: number };
  /** Called when the event stream connects (true) or drops (false). */
  onConnectionChange?(connected: boolean): void;
  /** Uploads use XMLHttpRequest when there is one (upload progress); else fetch (progress only at the end). */
  XMLHttpRequest?: typeof XMLHttpRequest | null;
}

export interface WebClient extends DemixApi {
  /** Closes the event stream and stops reconnecting. */
  close(): void;
}

type AnyListener = (payload: unknown) => void;

/** Jobs per `jobs:list` page when re-syncing after a reconnect. */
const RESYNC_PAGE = 1000;

export function createWebClient(opts: WebClientOptions): WebClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const WS = opts.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketCtor }).WebSocket;
  const minDelay = opts.reconnect?.minDelayMs ?? 500;
  const maxDelay = opts.reconnect?.maxDelayMs ?? 5000;
  const listeners = new Map<EventName, Set<AnyListener>>();
  let socket: WebSocketLike | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let delay = minDelay;
  let everConnected = false;
  let closed = false;

  const total = () => [...listeners.values()].reduce((n, s) => n + s.size, 0);

  const emit = (event: EventName, payload: unknown) => {
    for (const l of [...(listeners.get(event) ?? [])]) {
      try {
        l(payload);
      } catch (e) {
        console.error(`demix: a listener for ${event} threw`, e);
      }
    }
  };

  async function invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
    let res: Response;
    try {
      res = await doFetch(`${base}/api/invoke/${/^[a-z:-]+$/.test(channel) ? channel : encodeURIComponent(channel)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${opts.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(request ?? {}),
      });
    } catch {
      throw new DemixRemoteError('INTERNAL', 'Lost the connection to Demix: is `demix serve` still running?');
    }
    if (res.status === 401) {
      throw new DemixRemoteError('FORBIDDEN', 'Missing or wrong access token: open the URL that `demix serve` printed.');
    }
    let body: WireResult<ResponseOf<C>>;
    try {
      body = (await res.json()) as WireResult<ResponseOf<C>>;
    } catch {
      throw new DemixRemoteError('INTERNAL', `Demix answered ${res.status} without a readable body.`);
    }
    if (body && body.ok === true) return body.value;
    if (body && body.ok === false && body.error) throw new DemixRemoteError(body.error.code, body.error.message);
    throw new DemixRemoteError('INTERNAL', `Demix answered ${res.status} with an unexpected body.`);
  }

  /** Turns the bridge's answer to an upload into the result or a DemixRemoteError. */
  function uploadAnswer(status: number, text: string, name: string): UploadResult {
    if (status === 401) throw new DemixRemoteError('FORBIDDEN', 'Missing or wrong access token: open the URL that `demix serve` printed.');
    let body: WireResult<UploadResult> | null;
    try {
      body = JSON.parse(text) as WireResult<UploadResult>;
    } catch {
      body = null;
    }
    if (body && body.ok === true) return body.value;
    if (body && body.ok === false && body.error) throw new DemixRemoteError(body.error.code, body.error.message);
    if (status === 413) throw new DemixRemoteError('BAD_REQUEST', `${name} is larger than the upload limit (Settings → Largest upload).`);
    throw new DemixRemoteError('INTERNAL', `Demix answered ${status} to the upload of ${name} without a readable body.`);
  }

  function upload(file: Blob, o: UploadOptions): Promise<UploadResult> {
    const url = `${base}/api/upload/${encodeURIComponent(o.uploadId)}?path=${encodeURIComponent(o.relativePath)}`;
    const name = o.relativePath.split('/').pop() ?? o.relativePath;
    const aborted = () => Object.assign(new Error(`The upload of ${name} was canceled.`), { name: 'AbortError' });
    const lost = () => new DemixRemoteError('INTERNAL', `Lost the connection while uploading ${name}: is \`demix serve\` still running?`);
    if (o.signal?.aborted) return Promise.reject(aborted());
    const XHR = opts.XMLHttpRequest === undefined ? (globalThis as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest : opts.XMLHttpRequest;
    if (XHR) {
      return new Promise<UploadResult>((resolve, reject) => {
        const xhr = new XHR();
        xhr.open('PUT', url);
        xhr.setRequestHeader('Authorization', `Bearer ${opts.token}`);
        xhr.setRequestHeader('Content-Type', 'application/octet-stream');
        xhr.upload.onprogress = (e) => o.onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
        xhr.onload = () => {
          try {
            const r = uploadAnswer(xhr.status, xhr.responseText, name);
            o.onProgress?.(file.size, file.size);
            resolve(r);
          } catch (e) {
            reject(e);
          }
        };
        xhr.onerror = () => reject(lost());
        xhr.onabort = () => reject(aborted());
        o.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
        o.onProgress?.(0, file.size);
        xhr.send(file);
      });
    }
    return (async () => {
      o.onProgress?.(0, file.size);
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'PUT',
          headers: { Authorization: `Bearer ${opts.token}`, 'Content-Type': 'application/octet-stream' },
          body: file,
          signal: o.signal,
        });
      } catch {
        throw o.signal?.aborted ? aborted() : lost();
      }
      const r = uploadAnswer(res.status, await res.text(), name);
      o.onProgress?.(file.size, file.size);
      return r;
    })();
  }

  /** Ids of the jobs this client has told its listeners about (to notice removals while disconnected). */
  const known = new Set<string>();
  const track = (event: EventName, payload: unknown) => {
    const id = (payload as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    if (event === 'job-updated') known.add(id);
    else if (event === 'job-removed') known.delete(id);
  };

  /**
   * After a reconnect, events may have been missed: replay the current state as events, every
   * job (page by page, not only the first page), and a `job-removed` for each job this client
   * knew that is gone.
   */
  async function resync() {
    try {
      const state = await invoke('queue:state', {});
      const jobs = new Map<string, Job>();
      const batches = new Map<string, Batch>();
      for (let offset = 0, total = Infinity; offset < total; ) {
        const page = await invoke('jobs:list', { limit: RESYNC_PAGE, offset });
        total = page.total;
        for (const j of page.jobs) jobs.set(j.id, j);
        for (const b of page.batches) batches.set(b.id, b);
        if (page.jobs.length === 0) break;
        offset += page.jobs.length;
      }
      for (const id of [...known]) if (!jobs.has(id)) emitTracked('job-removed', { id });
      for (const job of jobs.values()) emitTracked('job-updated', job);
      for (const batch of batches.values()) emit('batch-updated', batch);
      emit('queue-state', state);
    } catch {
      // The next reconnect tries again.
    }
  }

  function emitTracked(event: EventName, payload: unknown) {
    track(event, payload);
    emit(event, payload);
  }

  function connect() {
    if (closed || socket || !WS) return;
    const wsUrl = `${base.replace(/^http/, 'ws')}/api/events?token=${encodeURIComponent(opts.token)}`;
    let ws: WebSocketLike;
    try {
      ws = new WS(wsUrl);
    } catch {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      delay = minDelay;
      opts.onConnectionChange?.(true);
      if (everConnected) void resync();
      everConnected = true;
    };
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: { event?: unknown; payload?: unknown };
      try {
        msg = JSON.parse(ev.data) as typeof msg;
      } catch {
        return;
      }
      if (typeof msg.event === 'string' && (eventNames as string[]).includes(msg.event)) emitTracked(msg.event as EventName, msg.payload);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = () => {
      if (socket === ws) socket = null;
      if (everConnected) opts.onConnectionChange?.(false);
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (closed || timer || total() === 0) return;
    timer = setTimeout(() => {
      timer = null;
      connect();
    }, delay);
    delay = Math.min(maxDelay, delay * 2);
  }

  function disconnectIfIdle() {
    if (total() > 0) return;
    if (timer) clearTimeout(timer);
    timer = null;
    const ws = socket;
    socket = null;
    everConnected = false;
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
  }

  return {
    host: 'web',
    contractVersion: CONTRACT_VERSION,
    invoke,
    on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      const l = listener as AnyListener;
      set.add(l);
      connect();
      return () => {
        set.delete(l);
        disconnectIfIdle();
      };
    },
    upload(file, o) {
      return upload(file, o);
    },
    mediaUrl(jobId, stem) {
      return `${base}/media/${encodeURIComponent(jobId)}/${encodeURIComponent(stem)}?token=${encodeURIComponent(opts.token)}`;
    },
    pathForFile() {
      return null;
    },
    startDrag() {
      // Dragging files out of a browser tab into a DAW is not possible; the desktop app does it.
    },
    close() {
      closed = true;
      listeners.clear();
      disconnectIfIdle();
    },
  };
}
