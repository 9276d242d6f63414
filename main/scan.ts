/**
 * Finding audio: a recursive folder scan (hidden and system files skipped, symlink loops safe)
 * and a light content sniff for files whose name does not say what they are.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AUDIO_EXTENSIONS } from '../engine/audio-files.ts';
import { YIELD_EVERY, yieldToLoop } from './yield.ts';

const EXTENSIONS = new Set(AUDIO_EXTENSIONS.map((e) => `.${e}`));

/** Audio extensions (lower case, with the dot), from engine/audio-files.ts. */
export function audioExtensions(): Set<string> {
  return EXTENSIONS;
}

const SYSTEM_NAMES = new Set(['thumbs.db', 'desktop.ini', '$recycle.bin', 'system volume information', '__macosx', 'lost+found', 'icon\r']);

export function isHiddenOrSystem(name: string): boolean {
  return name.startsWith('.') || name.startsWith('~$') || SYSTEM_NAMES.has(name.toLowerCase());
}

/** Recognises common audio containers from their first bytes (for files without an audio extension). */
export function sniffAudio(head: Buffer): boolean {
  if (head.length < 4) return false;
  const a4 = head.subarray(0, 4).toString('latin1');
  if (a4 === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WAVE') return true;
  if (a4 === 'fLaC' || a4 === 'OggS' || a4 === 'FORM' || a4 === 'wvpk' || a4 === 'MAC ') return true;
  if (head.subarray(0, 3).toString('latin1') === 'ID3') return true;
  if (head.length >= 8 && head.subarray(4, 8).toString('latin1') === 'ftyp') return true;
  if (head[0] === 0xff && (head[1] & 0xe0) === 0xe0) return true; // MPEG audio / ADTS frame sync
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return true; // Matroska/WebM
  return false;
}

/**
 * What a file named like audio really holds when its first bytes say "not audio": text (a
 * renamed note, lyrics, a saved web page), an image, a PDF or an archive. Null when it may be
 * audio (unknown bytes are left to the decoder: raw formats such as AAC, AC-3 or AMR have weak
 * or no magic numbers).
 */
export function disguisedAs(head: Buffer): string | null {
  if (head.length < 4 || sniffAudio(head)) return null;
  const a4 = head.subarray(0, 4).toString('latin1');
  if (head[0] === 0x89 && a4.slice(1) === 'PNG') return 'a PNG image';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'a JPEG image';
  if (a4 === 'GIF8') return 'a GIF image';
  if (a4 === '%PDF') return 'a PDF document';
  if (a4 === 'PK\x03\x04') return 'a ZIP archive';
  if (/^\s*<(!doctype|html|\?xml)/i.test(head.toString('latin1'))) return 'a web page or XML';
  // Text: every byte printable ASCII/UTF-8 or whitespace over a decent stretch ("#!AMR" files turn binary after 6 bytes).
  if (head.length >= 32) {
    const text = head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f) || b >= 0x80);
    if (text && isUtf8Prefix(head)) return 'text';
  }
  return null;
}

/** Valid UTF-8, allowing the last character to be cut short by the read. */
function isUtf8Prefix(b: Buffer): boolean {
  const dec = new TextDecoder('utf-8', { fatal: true });
  for (let cut = 0; cut < 4 && cut < b.length; cut++) {
    try {
      dec.decode(b.subarray(0, b.length - cut));
      return true;
    } catch {
      // a multi-byte character cut at the end: try a byte shorter
    }
  }
  return false;
}

/** The first `n` bytes of a file (fewer for a short file; empty when it cannot be read). */
export function readHead(file: string, n = 64): Buffer {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(n);
    return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0));
  } catch {
    return Buffer.alloc(0);
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export function sniffFile(file: string): boolean {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(16);
    const n = fs.readSync(fd, buf, 0, 16, 0);
    return sniffAudio(buf.subarray(0, n));
  } catch {
    return false;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export interface FoundFile {
  path: string;
  /** Relative to the scanned folder, with the platform separator. */
  relativePath: string;
  size: number;
  mtimeMs: number;
}

export interface ScanResult {
  files: FoundFile[];
  /** Files seen that are not audio (by extension and content). */
  skipped: number;
}

/** Whether a file (by name, else by content when it has no known extension) is audio. */
export function isAudioFile(file: string, exts: Set<string>): boolean {
  const ext = path.extname(file).toLowerCase();
  if (exts.has(ext)) return true;
  // Known non-audio types are not opened; anything else is sniffed.
  if (isKnownNonAudioName(file)) return false;
  return sniffFile(file);
}

/** Names whose extension says "not audio" (images, text, documents, archives…): never sniffed. */
export function isKnownNonAudioName(file: string): boolean {
  return /^\.(jpe?g|png|gif|bmp|webp|txt|md|pdf|nfo|cue|log|m3u8?|pls|json|xml|html?|zip|rar|7z|db|ini|exe|dll|doc|docx)$/.test(path.extname(file).toLowerCase());
}

/** Recursively lists audio files under `root`, sorted by relative path. */
export async function scanFolder(root: string): Promise<ScanResult> {
  const exts = audioExtensions();
  const files: FoundFile[] = [];
  let skipped = 0;
  const seen = new Set<string>();
  let visited = 0;
  const stack: string[] = [root];
  while (stack.length) {
    const dir = stack.pop()!;
    let real: string;
    try {
      real = await fs.promises.realpath(dir);
    } catch {
      continue;
    }
    if (seen.has(real)) continue; // symlink loop or the same folder reached twice
    seen.add(real);
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const ent of entries) {
      if (++visited % YIELD_EVERY === 0) await yieldToLoop();
      if (isHiddenOrSystem(ent.name)) continue;
      const full = path.join(dir, ent.name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      let st: fs.Stats | null = null;
      if (ent.isSymbolicLink() || (!isDir && !isFile)) {
        try {
          st = await fs.promises.stat(full);
        } catch {
          continue; // dangling link
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        stack.push(full);
        continue;
      }
      if (!isFile) continue;
      if (!isAudioFile(full, exts)) {
        skipped++;
        continue;
      }
      if (!st) {
        try {
          st = await fs.promises.stat(full);
        } catch {
          continue;
        }
      }
      files.push({ path: full, relativePath: path.relative(root, full), size: st.size, mtimeMs: st.mtimeMs });
    }
  }
  files.sort((a, b) => (a.relativePath < b.relativePath ? -1 : a.relativePath > b.relativePath ? 1 : 0));
  return { files, skipped };
}
