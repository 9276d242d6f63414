#!/usr/bin/env node
/**
 * Gives unpackaged Electron runs (`npm start`) a better-sqlite3 binary built for Electron's ABI,
 * WITHOUT touching node_modules/better-sqlite3 (whose Node-ABI binary the CLI and the tests use).
 *
 * A copy of the package goes to `.electron-native/better-sqlite3/`; its binary is fetched with
 * prebuild-install for the Electron runtime, or compiled with node-gyp against Electron's
 * headers. Both need the network once. The store opens SQLite with
 * `nativeBinding: process.env.DEMIX_SQLITE_BINDING` when that is set; scripts/start.mjs sets it.
 *
 * Packaged apps do not need this: electron-builder rebuilds native modules for Electron.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, '.electron-native');
const pkgDir = path.join(outDir, 'better-sqlite3');
export const bindingPath = path.join(pkgDir, 'build', 'Release', 'better_sqlite3.node');
const stampPath = path.join(outDir, 'stamp.json');

const version = (p) => JSON.parse(readFileSync(path.join(root, 'node_modules', p, 'package.json'), 'utf8')).version;

/** Returns the binding path, building it when missing or stale; throws with one clear line. */
export function ensureElectronSqlite({ arch = process.arch, log = console.log } = {}) {
  const electron = version('electron');
  const sqlite = version('better-sqlite3');
  const stamp = { electron, sqlite, arch };
  if (existsSync(bindingPath) && existsSync(stampPath)) {
    const old = JSON.parse(readFileSync(stampPath, 'utf8'));
    if (old.electron === electron && old.sqlite === sqlite && old.arch === arch) return bindingPath;
  }
  log(`demix: preparing better-sqlite3 ${sqlite} for Electron ${electron} (${arch}) in .electron-native/ …`);
  rmSync(pkgDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const src = path.join(root, 'node_modules', 'better-sqlite3');
  cpSync(src, pkgDir, { recursive: true, filter: (p) => !p.startsWith(path.join(src, 'build')) });

  const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
  const run = (cmd, args) =>
    spawnSync(cmd, args, { cwd: pkgDir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', shell: process.platform === 'win32', timeout: 10 * 60_000 });

  const attempts = [
    ['prebuild-install', [bin('prebuild-install'), ['--runtime=electron', `--target=${electron}`, `--arch=${arch}`, '--verbose']]],
    [
      'node-gyp',
      [bin('node-gyp'), ['rebuild', '--release', '--runtime=electron', `--target=${electron}`, `--arch=${arch}`, '--dist-url=https://electronjs.org/headers']],
    ],
  ];
  const errors = [];
  for (const [name, [cmd, args]] of attempts) {
    if (!existsSync(cmd)) {
      errors.push(`${name}: not installed`);
      continue;
    }
    const res = run(cmd, args);
    if (res.status === 0 && existsSync(bindingPath)) {
      writeFileSync(stampPath, JSON.stringify(stamp));
      return bindingPath;
    }
    const why = (res.error?.message || res.stderr || res.stdout || '').trim().split('\n').filter(Boolean).pop() ?? `exit ${res.status}`;
    errors.push(`${name}: ${why.slice(0, 200)}`);
  }
  throw new Error(
    `could not get better-sqlite3 for Electron ${electron} (${errors.join('; ')}): connect to the network and run \`npm start\` again, or install build tools (python3, a C++ compiler) for node-gyp.`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureElectronSqlite());
  } catch (e) {
    console.error(`demix: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
