/**
 * The folder Demix is installed in (the one with its package.json), found by walking up from
 * this module: the same answer from the sources (main/), the CLI bundle (dist/) and its chunks
 * (dist/chunks/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function appRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; ) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'demix') return dir;
    } catch {
      // no package.json here
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from, '..');
    dir = up;
  }
}
