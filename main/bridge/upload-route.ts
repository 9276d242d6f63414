/**
 * `PUT /api/upload/<uploadId>?path=<relative path>` on the web bridge: the request body (the
 * file's bytes, any content type) is streamed to the data folder's uploads area
 * (main/uploads.ts). The token is checked by the server before this runs.
 *
 *   201 {"ok":true,"value":{"uploadId","path","size"}}
 *   400 bad name / empty file · 409 name already uploaded under this id · 413 over the limit
 *   415 not audio · 507 disk full — each with {"ok":false,"error":{"code","message"}}
 *
 * `jobs:add-upload {uploadId}` then enqueues the upload.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WireResult } from '../../preload/contract.ts';
import { UploadError, precheckUpload, receiveUpload } from '../uploads.ts';

export interface UploadRouteDeps {
  dataDir: string;
  maxBytes(): number;
  sendJson(res: ServerResponse, status: number, body: unknown): void;
  log(message: string): void;
}

/** How long a refused request's body is still read (so the client sees the answer) before the connection is cut. */
const DRAIN_MS = 2000;

export async function handleUpload(req: IncomingMessage, res: ServerResponse, url: URL, deps: UploadRouteDeps): Promise<void> {
  const fail = (status: number, code: string, message: string) => {
    const body: WireResult<never> = { ok: false, error: { code: code as 'BAD_REQUEST', message } };
    if (!req.complete) {
      // Answer now, then drop the rest of the body: read it briefly so the client gets the answer, then cut.
      res.setHeader('Connection', 'close');
      const socket = req.socket;
      const cut = setTimeout(() => socket?.destroy(), DRAIN_MS);
      cut.unref();
      req.on('end', () => clearTimeout(cut));
      req.on('close', () => clearTimeout(cut));
      req.resume();
    }
    deps.sendJson(res, status, body);
  };
  if (req.method !== 'PUT' && req.method !== 'POST') {
    res.setHeader('Allow', 'PUT, POST');
    return fail(405, 'BAD_REQUEST', 'Use PUT /api/upload/<uploadId>?path=<file name> with the file as the body.');
  }
  let uploadId: string;
  try {
    uploadId = decodeURIComponent(url.pathname.slice('/api/upload/'.length));
  } catch {
    uploadId = '';
  }
  const opts = { dataDir: deps.dataDir, uploadId, relativePath: url.searchParams.get('path') ?? '', maxBytes: deps.maxBytes() };
  let pre: ReturnType<typeof precheckUpload>;
  try {
    pre = precheckUpload(req, opts);
  } catch (e) {
    if (e instanceof UploadError) return fail(e.status, e.code, e.message);
    throw e;
  }
  try {
    const got = await receiveUpload(req, opts, pre);
    deps.sendJson(res, 201, { ok: true, value: { uploadId: got.uploadId, path: got.path, size: got.size } });
  } catch (e) {
    if (e instanceof UploadError) return fail(e.status, e.code, e.message);
    // The client went away mid-upload: nothing to answer; receiveUpload removed the partial file.
    if (req.destroyed || res.destroyed || !req.complete) {
      if (!res.headersSent) res.destroy();
      return;
    }
    deps.log(`demix bridge: upload of ${opts.relativePath.slice(0, 120)} failed: ${(e as Error).stack ?? String(e)}`);
    fail(500, 'INTERNAL', `Could not store the upload: ${(e as Error).message}`);
  }
}
