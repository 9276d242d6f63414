#!/usr/bin/env node
/**
 * `npm start`: builds, makes sure better-sqlite3 has an Electron-ABI binary (in .electron-native/,
 * leaving the Node one alone), then launches Electron on dist/electron/main.js.
 * Extra arguments are passed to the app (e.g. `npm start -- song.mp3`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll } from './build.mjs';
import { ensureElectronSqlite } from './electron-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Path of the Electron executable, or null when only its npm package (types) is installed. */
export function electronBinary() {
  const dir = path.dirname(require.resolve('electron/package.json'));
  const pathFile = path.join(dir, 'path.txt');
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (!existsSync(pathFile) && !override) return null;
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : 'electron';
  const exe = override ? path.join(override, rel) : path.join(dir, 'dist', rel);
  return existsSync(exe) ? exe : null;
}

async function main() {
  const exe = electronBinary();
  if (!exe) {
    console.error(
      'demix: the Electron binary is not installed (no download was possible at install time): run `node node_modules/electron/install.js` with network access, or use `npx demix serve` to run the same UI in a browser.',
    );
    return 1;
  }
  await buildAll({ renderer: true });
  let binding;
  try {
    binding = ensureElectronSqlite();
  } catch (e) {
    console.error(`demix: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const child = spawn(exe, [root, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, DEMIX_SQLITE_BINDING: binding, ELECTRON_ENABLE_LOGGING: process.env.ELECTRON_ENABLE_LOGGING ?? '1' },
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`demix: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
