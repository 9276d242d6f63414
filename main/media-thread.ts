/**
 * The core's handle on the media worker thread: one thread, started on first use, kept while
 * requests are in flight (unref'd when idle so it never holds a CLI process open), restarted
 * after a crash. Errors come back as Error objects carrying the worker's name, code and message.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MediaReply, MediaRequest } from './media-protocol.ts';
import type { MixdownOptions } from './mixdown.ts';
import type { CachedPeaks } from './peaks.ts';

/** Path of the script to start the media worker with (sources: a tsx bootstrap; bundled app: dist/media-worker.js). */
export function mediaWorkerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const source = path.join(here, 'media-worker-entry.mjs');
  if (existsSync(source)) return source;
  for (const p of [path.join(here, 'media-worker.js'), path.join(here, '..', 'media-worker.js')]) if (existsSync(p)) return p;
  return source;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Op<R> = R extends { op: infer O } ? O : never;
type Distribute<R> = R extends unknown ? Omit<R, 'id'> : never;

export class MediaThread {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly script: string = mediaWorkerPath()) {}

  peaks(file: string): Promise<CachedPeaks> {
    return this.call({ op: 'peaks', file }) as Promise<CachedPeaks>;
  }

  mixdown(opts: MixdownOptions): Promise<{ path: string; durationSec: number }> {
    return this.call({ op: 'mixdown', opts }) as Promise<{ path: string; durationSec: number }>;
  }

  private call(req: Distribute<MediaRequest> & { op: Op<MediaRequest> }): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('The media worker is closed.'));
    const w = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ ...req, id } as MediaRequest);
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.script);
    w.on('message', (m: MediaReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', (e) => fail(new Error(`The media worker crashed: ${e.message}`)));
    w.on('exit', (code) => fail(new Error(`The media worker stopped (exit code ${code}).`)));
    w.unref();
    this.worker = w;
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
