/**
 * Browser uploads (web bridge only): turning picked or dropped files and folders into uploads,
 * one upload id per dropped file or folder (a folder becomes one batch), and walking dropped
 * folders with the File and Directory Entries API. No node imports.
 */
import type { DemixApi } from '../../../preload/contract.ts';

export interface PickedFile {
  file: File;
  /** `song.flac`, or the path inside a dropped/picked folder: `Album/cd1/01.flac`. */
  relativePath: string;
}

export interface UploadRow {
  /** Unique per file. */
  key: string;
  uploadId: string;
  name: string;
  relativePath: string;
  loaded: number;
  total: number;
  status: 'waiting' | 'uploading' | 'adding';
}

export interface UploadGroup {
  uploadId: string;
  /** Folder name for a folder upload, else null. */
  folder: string | null;
  files: PickedFile[];
}

const NON_AUDIO = /\.(jpe?g|png|gif|bmp|webp|txt|md|pdf|nfo|cue|log|m3u8?|pls|json|xml|html?|zip|rar|7z|db|ini|exe|dll|docx?|sfv|url|lnk|ds_store)$/i;
const SYSTEM = /^(thumbs\.db|desktop\.ini|__macosx)$/i;

/** Hidden/system files and names that say "not audio" are left out of folder uploads (as a folder scan does). */
export function skipInFolder(relativePath: string): boolean {
  return relativePath.split('/').some((seg) => seg.startsWith('.') || SYSTEM.test(seg)) || NON_AUDIO.test(relativePath);
}

export function newUploadId(): string {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.getRandomValues) {
    const b = c.getRandomValues(new Uint8Array(12));
    return 'u' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  return `u${Date.now().toString(36)}${Math.random().toString(36).slice(2, 12)}`;
}

/** One group per dropped file (loose) or per top-level folder; folder files lose hidden/non-audio names. */
export function groupUploads(items: PickedFile[]): { groups: UploadGroup[]; skipped: number } {
  const folders = new Map<string, UploadGroup>();
  const groups: UploadGroup[] = [];
  let skipped = 0;
  for (const it of items) {
    const rel = it.relativePath.replace(/\\/g, '/').replace(/^\/+/, '') || it.file.name;
    const slash = rel.indexOf('/');
    if (slash < 0) {
      groups.push({ uploadId: newUploadId(), folder: null, files: [{ file: it.file, relativePath: rel }] });
      continue;
    }
    if (skipInFolder(rel)) {
      skipped++;
      continue;
    }
    const top = rel.slice(0, slash);
    let g = folders.get(top);
    if (!g) {
      g = { uploadId: newUploadId(), folder: top, files: [] };
      folders.set(top, g);
      groups.push(g);
    }
    g.files.push({ file: it.file, relativePath: rel });
  }
  for (const g of groups) g.files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  return { groups, skipped };
}

/** Files of an `<input type=file>` (with `webkitdirectory`, each carries its path inside the folder). */
export function filesFromInput(list: FileList | File[]): PickedFile[] {
  return Array.from(list).map((file) => ({ file, relativePath: (file as File & { webkitRelativePath?: string }).webkitRelativePath || file.name }));
}

// ---- dropped folders (File and Directory Entries API) ----

interface FsEntry {
  isFile: boolean;
  isDirectory: boolean;
  name: string;
  fullPath: string;
}
interface FsFileEntry extends FsEntry {
  file(ok: (f: File) => void, err?: (e: unknown) => void): void;
}
interface FsDirEntry extends FsEntry {
  createReader(): { readEntries(ok: (entries: FsEntry[]) => void, err?: (e: unknown) => void): void };
}

/**
 * What was dropped: entries must be taken from the DataTransfer during the drop event itself
 * (this function does that synchronously), then folders are walked asynchronously.
 */
export function droppedFiles(dt: DataTransfer): Promise<PickedFile[]> {
  const entries: FsEntry[] = [];
  const loose: File[] = [];
  const items = Array.from(dt.items ?? []);
  for (const item of items) {
    if (item.kind !== 'file') continue;
    const entry = (item as DataTransferItem & { webkitGetAsEntry?: () => FsEntry | null }).webkitGetAsEntry?.() ?? null;
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  if (items.length === 0) loose.push(...Array.from(dt.files ?? []));
  return (async () => {
    const out: PickedFile[] = loose.map((file) => ({ file, relativePath: file.name }));
    for (const e of entries) await walk(e, '', out);
    return out;
  })();
}

async function walk(entry: FsEntry, prefix: string, out: PickedFile[]): Promise<void> {
  const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File | null>((ok) => (entry as FsFileEntry).file(ok, () => ok(null)));
    if (file) out.push({ file, relativePath: rel });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FsDirEntry).createReader();
  // readEntries answers in chunks (100 in Chromium) until it answers with none.
  for (;;) {
    const batch = await new Promise<FsEntry[]>((ok) => reader.readEntries(ok, () => ok([])));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, rel, out);
  }
}

export function canUpload(api: DemixApi): boolean {
  return api.host === 'web' && typeof api.upload === 'function';
}

/** "3.4 MB" (decimal units, as browsers and file managers show sizes). */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/**
 * Whether `job` is the job that an upload row turned into: the bridge stores an upload under
 * `uploads/<uploadId>/<relative path>`, so the job's input path names both. Used to drop the row
 * as soon as the job's own row appears (its event can arrive before `jobs:add-upload` answers).
 */
export function isJobOfUpload(row: Pick<UploadRow, 'uploadId' | 'relativePath'>, inputPath: string): boolean {
  const p = inputPath.replace(/\\/g, '/');
  const rel = row.relativePath.replace(/\\/g, '/').replace(/^\/+/, '');
  return p.includes(`/${row.uploadId}/`) && p.endsWith(`/${rel}`);
}
