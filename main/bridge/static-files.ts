/**
 * Static files of the built renderer, shared by the web bridge and Electron's `demix-app://`
 * protocol: confined to the renderer folder (after resolving symlinks), SPA fallback to
 * index.html for extension-less routes, MIME types by extension.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export const STATIC_MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.webmanifest': 'application/manifest+json',
};

export function staticType(file: string): string {
  return STATIC_MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export type StaticResult =
  | { kind: 'file'; file: string; size: number; type: string; isHtml: boolean }
  | { kind: 'not-built'; indexPath: string }
  | { kind: 'not-found' }
  | { kind: 'bad-path' };

/** Resolves a URL pathname (still percent-encoded) to a file inside rendererDir. */
export async function resolveStatic(rendererDir: string, urlPathname: string): Promise<StaticResult> {
  const indexPath = path.join(rendererDir, 'index.html');
  let root: string;
  let index: string;
  try {
    root = await realpath(rendererDir);
    index = await realpath(indexPath);
  } catch {
    return { kind: 'not-built', indexPath };
  }
  let rel: string;
  try {
    rel = decodeURIComponent(urlPathname);
  } catch {
    return { kind: 'bad-path' };
  }
  if (rel.includes('\0')) return { kind: 'bad-path' };
  const candidate = path.join(root, path.posix.normalize('/' + rel.replace(/\\/g, '/')));
  let real: string | null = null;
  try {
    const r = await realpath(candidate);
    if (r.startsWith(root + path.sep) && (await stat(r)).isFile()) real = r;
  } catch {
    real = null;
  }
  if (!real) {
    // SPA fallback: extension-less routes get the app; missing assets are 404s.
    if (path.extname(rel) !== '') return { kind: 'not-found' };
    real = index;
  }
  const type = staticType(real);
  return { kind: 'file', file: real, size: (await stat(real)).size, type, isHtml: type.startsWith('text/html') };
}
