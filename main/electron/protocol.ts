/**
 * The two custom protocols:
 * - `demix-app://app/…` serves the built renderer with the app's CSP (so the page never runs
 *   from file:// and always carries its policy);
 * - `demix-media://job/<jobId>/<stem>` streams stems/inputs through the confined media resolver
 *   with HTTP Range, for <audio> and wavesurfer.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Session } from 'electron';
import { resolveStatic } from '../bridge/static-files.ts';
import type { ShellCore } from '../handlers.ts';
import { splitMediaPath } from '../media.ts';
import { serveMedia, wantsPcm } from '../media-pcm.ts';
import { APP_CSP, APP_ORIGIN, APP_SCHEME, MEDIA_SCHEME } from './security.ts';

const text = (status: number, body: string) => new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });

export async function appResponse(rendererDir: string, request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== 'app') return text(404, 'Not found.');
  const found = await resolveStatic(rendererDir, url.pathname);
  if (found.kind === 'not-built') return text(503, `The Demix UI is not built (no ${found.indexPath}): run \`npm run build\`.`);
  if (found.kind !== 'file') return text(404, 'Not found.');
  const headers: Record<string, string> = { 'Content-Type': found.type, 'X-Content-Type-Options': 'nosniff' };
  if (found.isHtml) headers['Content-Security-Policy'] = APP_CSP;
  return new Response(new Uint8Array(await readFile(found.file)), { status: 200, headers });
}

export async function mediaResponse(core: Pick<ShellCore, 'jobs'>, request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== 'job' || (request.method !== 'GET' && request.method !== 'HEAD')) return text(404, 'Not found.');
  const parts = splitMediaPath(url.pathname);
  const out = parts ? await serveMedia(core, parts.jobId, parts.stem, { range: request.headers.get('range'), pcm: wantsPcm(url.searchParams), body: request.method === 'GET' }) : null;
  if (!out) return text(404, 'Not found.');
  const headers = {
    ...out.headers,
    'Access-Control-Allow-Origin': APP_ORIGIN,
    'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges, X-Demix-Pcm, X-Demix-Complete',
  };
  const body = out.body ? (Readable.toWeb(out.body) as unknown as ReadableStream<Uint8Array>) : null;
  return new Response(body, { status: out.status, headers });
}

export function registerProtocols(ses: Session, opts: { core: Pick<ShellCore, 'jobs'>; rendererDir: string; log?: (m: string) => void }): void {
  const log = opts.log ?? ((m) => console.error(m));
  const guard = (name: string, fn: (r: Request) => Promise<Response>) => async (request: Request) => {
    try {
      return await fn(request);
    } catch (e) {
      log(`demix: ${name} request failed: ${e instanceof Error ? e.message : String(e)}`);
      return text(500, 'Internal error.');
    }
  };
  ses.protocol.handle(APP_SCHEME, guard(APP_SCHEME, (r) => appResponse(opts.rendererDir, r)));
  ses.protocol.handle(MEDIA_SCHEME, guard(MEDIA_SCHEME, (r) => mediaResponse(opts.core, r)));
}
