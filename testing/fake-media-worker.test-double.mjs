// Test double for main/media-worker.ts (named as such): answers every request with the error in
// DEMIX_FAKE_MEDIA_ERROR (JSON {name, code, message}), as the real worker does on a full disk.
import { parentPort } from 'node:worker_threads';

const error = JSON.parse(process.env.DEMIX_FAKE_MEDIA_ERROR ?? '{"name":"DemixError","code":"DISK_FULL","message":"The disk is full."}');
parentPort.on('message', (m) => parentPort.postMessage({ id: m.id, ok: false, error }));
