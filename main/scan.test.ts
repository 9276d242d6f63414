import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanFolder, sniffAudio } from './scan.ts';
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
