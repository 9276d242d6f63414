/**
 * `demix --licenses`: Demix's own licence, then the third-party notices, generated from the
 * installed production dependencies (scripts/licenses.mjs) or, without node_modules, the copy
 * that the build wrote to dist/THIRD-PARTY-NOTICES.txt.
 */
import fs from 'node:fs';
import path from 'node:path';

export async function licensesText(root: string): Promise<string> {
  const read = (f: string) => {
    try {
      return fs.readFileSync(path.join(root, f), 'utf8').trim();
    } catch {
      return null;
    }
  };
  const own = read('LICENSE') ?? 'Demix is MIT-licensed.';
  let notices: string | null;
  try {
    const { renderNotices } = await import('../../scripts/licenses.mjs');
    notices = renderNotices(root);
  } catch {
    notices = read(path.join('dist', 'THIRD-PARTY-NOTICES.txt'));
  }
  return `${own}\n\n${'='.repeat(78)}\n\n${notices ?? 'The third-party notices are missing: run `npm install` (or `npm run build`) to generate them.'}\n`;
}
