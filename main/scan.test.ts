import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { disguisedAs, scanFolder, sniffAudio } from './scan.ts';
import { tempDir } from '../testing/test-harness.ts';
import { YIELD_EVERY } from './yield.ts';

describe('folder scan', () => {
  it('finds audio recursively, skips hidden/system/non-audio files, survives symlink loops', async () => {
    const root = tempDir();
    const w = (rel: string, content: string | Buffer = 'x') => {
      const p = path.join(root, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    };
    w('a.mp3');
    w('Disc 1/b.FLAC');
    w('Disc 1/deeper/c.m4a');
    w('.hidden.mp3');
    w('.git/objects/x.wav');
    w('Thumbs.db');
    w('desktop.ini');
    w('cover.jpg');
    w('notes.txt');
    w('no-extension-but-wav', Buffer.concat([Buffer.from('RIFF\0\0\0\0WAVEfmt '), Buffer.alloc(32)]));
    w('no-extension-text', 'just text');
    fs.symlinkSync(root, path.join(root, 'Disc 1', 'loop')); // a loop back to the top
    fs.symlinkSync(path.join(root, 'missing'), path.join(root, 'dangling.mp3'));
    const { files, skipped } = await scanFolder(root);
    expect(files.map((f) => f.relativePath)).toEqual(['Disc 1/b.FLAC', 'Disc 1/deeper/c.m4a', 'a.mp3', 'no-extension-but-wav'].map((p) => p.split('/').join(path.sep)));
    expect(skipped).toBe(3); // cover.jpg, notes.txt, no-extension-text
    expect(files[0].size).toBe(1);
  });

  it('sniffs common containers', () => {
    expect(sniffAudio(Buffer.from('fLaC\0\0\0\0'))).toBe(true);
    expect(sniffAudio(Buffer.from('ID3\x04\0\0\0\0'))).toBe(true);
    expect(sniffAudio(Buffer.from('OggS\0\0\0\0'))).toBe(true);
    expect(sniffAudio(Buffer.from('\0\0\0\x20ftypM4A '))).toBe(true);
    expect(sniffAudio(Buffer.from([0xff, 0xfb, 0x90, 0x00]))).toBe(true);
    expect(sniffAudio(Buffer.from('hello world'))).toBe(false);
  });

  it('tells what a file named like audio really holds when its first bytes say so', () => {
    expect(disguisedAs(Buffer.from('these are not the droids you are looking for\n'))).toBe('text');
    expect(disguisedAs(Buffer.from('Ünïcødé lyrics, line one — and line two, still text\n'))).toBe('text');
    expect(disguisedAs(Buffer.from('<!DOCTYPE html><html><body>saved page</body></html>'))).toBe('a web page or XML');
    expect(disguisedAs(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('a PNG image');
    expect(disguisedAs(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]))).toBe('a JPEG image');
    expect(disguisedAs(Buffer.from('%PDF-1.7\n'))).toBe('a PDF document');
    expect(disguisedAs(Buffer.from('PK\x03\x04\x14\0'))).toBe('a ZIP archive');
    // Audio, short heads and unknown binary are left to the decoder.
    expect(disguisedAs(Buffer.from('ID3\x04\0\0\0\0 and then a long run of printable tag text'))).toBeNull();
    expect(disguisedAs(Buffer.from([0xff, 0xfb, 0x90, 0x00, 0x20, 0x20]))).toBeNull();
    expect(disguisedAs(Buffer.concat([Buffer.from('#!AMR\n'), Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37) % 256))]))).toBeNull();
    expect(disguisedAs(Buffer.from('short text'))).toBeNull();
    expect(disguisedAs(Buffer.from([0x0b, 0x77, 0x01, 0x02, 0x03]))).toBeNull(); // AC-3 sync word
  });

  it('scans a 1,000-file folder, letting the event loop turn meanwhile', async () => {
    const root = tempDir();
    for (let i = 0; i < 1000; i++) {
      const d = path.join(root, `album${i % 10}`);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, `t${i}.mp3`), 'x');
    }
    let turns = 0;
    let on = true;
    const ping = () => {
      turns++;
      if (on) setImmediate(ping);
    };
    setImmediate(ping);
    const { files } = await scanFolder(root);
    on = false;
    expect(files).toHaveLength(1000);
    expect(turns).toBeGreaterThanOrEqual(1000 / YIELD_EVERY);
  });
});
