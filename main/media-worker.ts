/**
 * The media worker thread: decodes and sums audio off the core's event loop (waveform peaks,
 * mixdown export), as the engine worker does for separation. Started by main/media-thread.ts;
 * speaks MediaRequest / MediaReply. It never runs ONNX Runtime, so terminating it is safe.
 */
import { parentPort } from 'node:worker_threads';
import { writeMixdown } from './mixdown.ts';
import { computePeaks } from './peaks.ts';
import { lowerThreadPriority } from '../engine/thread-priority.ts';
import type { MediaReply, MediaRequest } from './media-protocol.ts';

const port = parentPort;
if (!port) throw new Error('main/media-worker.ts runs as a worker thread (see main/media-thread.ts).');
// Background work: the core's event loop (and the player it feeds) comes first.
lowerThreadPriority(5);

port.on('message', async (m: MediaRequest) => {
  try {
    if (m.op === 'peaks') {
      const r = await computePeaks(m.file);
      const reply: MediaReply = { id: m.id, ok: true, value: r };
      port.postMessage(reply, [r.peaks.buffer as ArrayBuffer]);
    } else {
      const r = await writeMixdown(m.opts);
      port.postMessage({ id: m.id, ok: true, value: r } satisfies MediaReply);
    }
  } catch (e) {
    const err = e as { name?: string; code?: unknown; message?: string };
    const reply: MediaReply = {
      id: m.id,
      ok: false,
      error: { name: err?.name ?? 'Error', code: typeof err?.code === 'string' ? err.code : undefined, message: err?.message ?? String(e) },
    };
    port.postMessage(reply);
  }
});
