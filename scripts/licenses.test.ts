// Licences of what ships: the production dependency tree as installed in node_modules, judged
// by scripts/licenses.mjs (permissive licences only; the few exceptions are documented there),
// and the notices generated from it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../main/cli.ts';
import { EXCEPTIONS, checkLicenses, judgeLicense, licenseOf, productionPackages, renderNotices } from './licenses.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('third-party licences', () => {
  it('every production dependency has a known, allowed licence (copyleft only where documented)', () => {
    expect(checkLicenses(root)).toEqual([]);
    const { packages } = productionPackages(root);
    const direct = Object.keys(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).dependencies);
    for (const d of direct) expect(packages.map((p) => p.name), d).toContain(d);
    // The only GPL in the tree is ffmpeg-static (the ffmpeg binary, run as a separate program).
    expect(packages.filter((p) => /GPL/i.test(p.license)).map((p) => p.name)).toEqual(['ffmpeg-static']);
  });

  it('judges licences: permissive and OR-expressions pass; unknown, missing and unexpected copyleft fail', () => {
    for (const l of ['MIT', 'ISC', 'Apache-2.0', 'BSD-3-Clause', '0BSD', '(MIT OR WTFPL)', '(BSD-2-Clause OR MIT OR Apache-2.0)', 'MIT AND ISC']) {
      expect(judgeLicense('some-package', l), l).toEqual({ ok: true });
    }
    expect(judgeLicense('some-package', 'GPL-3.0-or-later')).toEqual({ ok: false, problem: 'some-package: unexpected copyleft licence "GPL-3.0-or-later"' });
    expect(judgeLicense('some-package', 'LGPL-2.1')).toMatchObject({ ok: false, problem: expect.stringContaining('unexpected copyleft') });
    expect(judgeLicense('some-package', 'MPL-2.0')).toMatchObject({ ok: false, problem: expect.stringContaining('unexpected copyleft') });
    expect(judgeLicense('some-package', 'MIT AND GPL-2.0')).toMatchObject({ ok: false });
    expect(judgeLicense('some-package', '')).toEqual({ ok: false, problem: 'some-package: no known licence ("none")' });
    expect(judgeLicense('some-package', 'SEE LICENSE IN LICENSE.txt')).toMatchObject({ ok: false, problem: expect.stringContaining('no known licence') });
    expect(judgeLicense('some-package', 'Commercial')).toMatchObject({ ok: false, problem: expect.stringContaining('not on the allowed list') });
    // The GPL exception is for ffmpeg-static's binary only, and for the licence it was granted for.
    expect(judgeLicense('ffmpeg-static', 'GPL-3.0-or-later')).toMatchObject({ ok: true, exception: expect.stringContaining('separate program') });
    expect(judgeLicense('ffmpeg-static', 'AGPL-3.0')).toMatchObject({ ok: false });
    expect(Object.entries(EXCEPTIONS).filter(([, e]) => /GPL/.test(e.license)).map(([n]) => n)).toEqual(['ffmpeg-static']);
    expect(licenseOf({ licenses: [{ type: 'BSD', url: 'x' }] })).toBe('BSD');
    expect(licenseOf({ license: { type: 'MIT' } })).toBe('MIT');
  });

  it('packages excepted because Demix never loads them are left out of the installers', () => {
    const yml = readFileSync(path.join(root, 'electron-builder.yml'), 'utf8');
    for (const [name, e] of Object.entries(EXCEPTIONS)) {
      if (!/never loads/.test(e.why)) continue;
      const excluded = /!node_modules\/\{([^}]*)\}\/\*\*/g;
      const names = [...yml.matchAll(excluded)].flatMap((m) => m[1].split(','));
      expect(names, name).toContain(name.startsWith('@') ? name.split('/')[0] : name);
    }
  });

  it('the notices name ffmpeg with its licence and source, Electron/Chromium, ONNX Runtime, the weights, and every package', () => {
    const text = renderNotices(root);
    expect(text).toContain('GPL-3.0-or-later');
    expect(text).toContain('https://ffmpeg.org/download.html');
    expect(text).toContain('LICENSES.chromium.html');
    expect(text).toContain('ONNX Runtime');
    expect(text).toContain('personal and research use only');
    expect(text).toContain('GNU GENERAL PUBLIC LICENSE'); // ffmpeg-static's full licence text
    for (const p of productionPackages(root).packages) expect(text).toContain(`${p.name}@${p.version}`);
  });

  it('Demix itself: LICENSE is MIT and package.json says so', () => {
    expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).license).toBe('MIT');
  });

  it('`demix --licenses` prints the MIT licence, then the generated notices', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const code = await main(['node', 'demix', '--licenses'], { out, err: new PassThrough() });
    expect(code).toBe(0);
    expect(text).toMatch(/^MIT License/);
    expect(text).toContain('third-party notices');
    expect(text).toContain('ffmpeg-static@');
    expect(text).toContain('personal and research use only');
  });
});
