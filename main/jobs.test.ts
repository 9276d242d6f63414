import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputRoot, contentHash, outputError } from './jobs.ts';
import { tempDir } from '../testing/test-harness.ts';

describe('jobs helpers', () => {
  it('content hash: same bytes → same hash whatever the name or mtime; any change in head, tail or size → different', async () => {
    const dir = tempDir();
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const a = path.join(dir, 'a.wav');
    const b = path.join(dir, 'b.wav');
    fs.writeFileSync(a, big);
    fs.writeFileSync(b, big);
    fs.utimesSync(b, new Date(2000, 1, 1), new Date(2000, 1, 1));
    expect(await contentHash(a)).toBe(await contentHash(b));
    const tail = Buffer.from(big);
    tail[tail.length - 1] ^= 1;
    fs.writeFileSync(b, tail);
    expect(await contentHash(b)).not.toBe(await contentHash(a));
    fs.writeFileSync(b, Buffer.concat([big, Buffer.from([0])]));
    expect(await contentHash(b)).not.toBe(await contentHash(a));
    const small = path.join(dir, 'small.mp3');
    fs.writeFileSync(small, 'abc');
    expect(await contentHash(small)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('maps output-folder errors to codes a user can act on', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    expect(outputError(err('ENOSPC'), '/out')).toMatchObject({ code: 'DISK_FULL' });
    expect(outputError(err('ENOSPC'), '/out').message).toMatch(/disk is full.*free some space/i);
    expect(outputError(err('EACCES'), '/out')).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
    expect(outputError(err('EROFS'), '/out')).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
    expect(outputError(err('ENOTDIR'), '/out').message).toMatch(/is a file, not a folder/);
    expect(outputError(err('EIO'), '/out')).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
  });

  it('checks an output root up front (works as root too: paths under a file or in /proc)', () => {
    const dir = tempDir();
    expect(checkOutputRoot(path.join(dir, 'new', 'deep'))).toBeNull();
    expect(fs.existsSync(path.join(dir, 'new', 'deep'))).toBe(true);
    expect(fs.readdirSync(path.join(dir, 'new', 'deep'))).toEqual([]); // the probe file is gone
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    expect(checkOutputRoot(path.join(dir, 'file', 'out'))).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
    if (fs.existsSync('/proc/self')) expect(checkOutputRoot('/proc/demix-out')).toMatchObject({ code: 'OUTPUT_UNWRITABLE' });
  });
});
